import Foundation
import Tensors

/// A two-sided confidence interval `[low, high]` around an estimate.
public struct Interval: Sendable, Equatable, CustomStringConvertible {
    public let low: Double
    public let high: Double

    public init(low: Double, high: Double) {
        self.low = low
        self.high = high
    }

    /// Whether `value` lies inside the interval (ends included).
    public func contains(_ value: Double) -> Bool { low <= value && value <= high }

    /// Whether the two intervals share at least one value.
    public func overlaps(_ other: Interval) -> Bool { low <= other.high && other.low <= high }

    /// `low...high` (for a chart's error bar), or nil when an end is NaN or `low > high`.
    public var range: ClosedRange<Double>? { low <= high ? low...high : nil }

    /// `"[low, high]"` with `format` (a `String(format:)` pattern) for each end (`formatNumber`: an end
    /// that rounds to zero prints without a minus sign).
    public func formatted(_ format: String) -> String {
        "[" + formatNumber(format, low) + ", " + formatNumber(format, high) + "]"
    }

    public var description: String { formatted("%.4g") }
}

/// A measured value with its bootstrap interval.
public struct Estimate: Sendable, Equatable {
    public let value: Double
    public let interval: Interval

    public init(value: Double, interval: Interval) {
        self.value = value
        self.interval = interval
    }

    /// Whether zero lies inside the interval: the sign of the value is not established.
    public var includesZero: Bool { interval.contains(0) }

    /// `"value [low, high]"`, every number with `format`.
    public func formatted(_ format: String) -> String {
        formatNumber(format, value) + " " + interval.formatted(format)
    }
}

/// `String(format: format, value)` for one floating-point number, except that a negative value which
/// rounds to zero at the format's precision prints as zero does ("0.0000", or "+0.0000" with a `+`
/// flag), never "-0.0000": a minus sign on a printed zero suggests a direction the number does not have.
public func formatNumber(_ format: String, _ value: Double) -> String {
    let text = String(format: format, value)
    guard value.isFinite, text.hasPrefix("-"), !text.contains(where: { ("1"..."9").contains($0) }) else { return text }
    return String(format: format, 0.0)
}

/// The percentile bootstrap (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13): draw
/// `units` independent units (text chunks, prompts, seeds) with replacement, `replicates` times, evaluate the
/// statistic on each resample, and take the `(1 − confidence)/2` and `(1 + confidence)/2` quantiles of the
/// results. The units are whatever the caller treats as independent; a statistic over two models evaluated
/// on the same resample gives a *paired* interval (what a difference between two models needs).
///
/// Deterministic: the resamples come from a fixed-seed SplitMix64 stream, so a report's intervals do not
/// change from run to run.
public enum Bootstrap {
    /// Resamples drawn by default (Efron & Tibshirani recommend at least 1,000 for percentile intervals).
    public static let defaultReplicates = 1000

    /// - Parameters:
    ///   - units: how many independent units there are (≥ 1).
    ///   - statistic: evaluated on one resample, given as `counts[i]` = how many times unit `i` was drawn
    ///     (the counts sum to `units`); called once with every count 1 for the point estimate.
    /// - Returns: the statistic on the original sample and its interval.
    public static func estimate(units: Int, replicates: Int = defaultReplicates, confidence: Double = 0.95,
                                seed: UInt64 = 0x5EED_B007, statistic: ([Int]) -> Double) -> Estimate {
        precondition(units >= 1 && replicates >= 1 && confidence > 0 && confidence < 1, "Bootstrap.estimate: bad arguments")
        let value = statistic([Int](repeating: 1, count: units))
        var generator = SplitMix64(seed: seed)
        var results: [Double] = []
        results.reserveCapacity(replicates)
        var counts = [Int](repeating: 0, count: units)
        for _ in 0..<replicates {
            for i in 0..<units { counts[i] = 0 }
            for _ in 0..<units { counts[Int(generator.next() % UInt64(units))] += 1 }
            let r = statistic(counts)
            if r.isFinite { results.append(r) }
        }
        guard !results.isEmpty else { return Estimate(value: value, interval: Interval(low: .nan, high: .nan)) }
        results.sort()
        let tail = (1 - confidence) / 2
        return Estimate(value: value, interval: Interval(low: quantile(results, tail), high: quantile(results, 1 - tail)))
    }

    /// The mean of `values` (one per unit) with its interval.
    public static func mean(_ values: [Double], replicates: Int = defaultReplicates, confidence: Double = 0.95) -> Estimate {
        estimate(units: values.count, replicates: replicates, confidence: confidence) { counts in
            var sum = 0.0
            for (v, c) in zip(values, counts) { sum += v * Double(c) }
            return sum / Double(values.count)
        }
    }

    /// Linear interpolation between order statistics of sorted `x` (type 7, the default of R and numpy).
    static func quantile(_ x: [Double], _ q: Double) -> Double {
        let position = q * Double(x.count - 1)
        let lower = Int(position.rounded(.down)), upper = min(lower + 1, x.count - 1)
        return x[lower] + (x[upper] - x[lower]) * (position - Double(lower))
    }
}
