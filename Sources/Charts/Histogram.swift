/// Counts of values in equal-width bins over `lower…upper`.
struct Histogram {
    let lower: Double
    let upper: Double
    /// `counts[i]` is the number of values in bin i, [lower + i·w, lower + (i+1)·w) with w = binWidth;
    /// the last bin also holds `upper`.
    let counts: [Int]

    var binWidth: Double { (upper - lower) / Double(counts.count) }

    /// Bins the finite values of `values` that fall in `lower…upper` (requires `upper > lower`, `binCount ≥ 1`).
    init(_ values: [Float], lower: Double, upper: Double, binCount: Int) {
        precondition(upper > lower && binCount >= 1, "Histogram: empty range or no bins")
        var counts = [Int](repeating: 0, count: binCount)
        let scale = Double(binCount) / (upper - lower)
        for value in values where value.isFinite {
            let v = Double(value)
            guard v >= lower && v <= upper else { continue }
            counts[min(binCount - 1, Int((v - lower) * scale))] += 1
        }
        self.lower = lower
        self.upper = upper
        self.counts = counts
    }

    /// Left edge of bin `index`.
    func edge(_ index: Int) -> Double { lower + Double(index) * binWidth }
}

/// The smallest and largest finite values in `values`, or nil when there are none.
func finiteRange<S: Sequence>(_ values: S) -> (lower: Double, upper: Double)? where S.Element: BinaryFloatingPoint {
    var lower = Double.infinity, upper = -Double.infinity
    for value in values where value.isFinite {
        lower = min(lower, Double(value))
        upper = max(upper, Double(value))
    }
    return lower <= upper ? (lower, upper) : nil
}

/// A range around `range` that is never empty: a single value `v` becomes v ± max(|v|·0.05, `minimumHalfWidth`).
func widened(_ range: (lower: Double, upper: Double), minimumHalfWidth: Double = 1e-6) -> (lower: Double, upper: Double) {
    guard range.upper <= range.lower else { return range }
    let half = max(abs(range.lower) * 0.05, minimumHalfWidth)
    return (range.lower - half, range.upper + half)
}
