/// A named set of quantization levels (the values a format can reconstruct), drawn as vertical lines.
public struct LevelSet: Sendable, Equatable {
    /// Legend text, e.g. "Q4_0 grid d·(q−8)" or "NF4 codebook × absmax".
    public var name: String
    /// The levels in weight units, any order.
    public var levels: [Float]

    public init(name: String, levels: [Float]) {
        self.name = name
        self.levels = levels
    }
}

/// Histogram of the weights of one tensor or one quantization block, with quantization level sets overlaid
/// as vertical lines — e.g. the uniform Q4_0 grid d·(q−8), q = 0…15, against the NF4 codebook scaled to
/// the block's absmax. The caller computes the levels (Quantization owns the formats).
public struct WeightHistogramChart: Chart {
    public var metadata: PNGMetadata
    /// The weights, any order; NaN and infinities are skipped.
    public var weights: [Float]
    /// Level sets drawn over the histogram, each in its own colour and dash pattern (at most 4 are distinct).
    public var levelSets: [LevelSet]
    /// Number of bins; nil picks 2·√n clamped to 8…80.
    public var binCount: Int?
    /// x axis label with unit.
    public var xLabel: String

    public init(metadata: PNGMetadata, weights: [Float], levelSets: [LevelSet] = [], binCount: Int? = nil,
                xLabel: String = "weight value (fp32, unitless)") {
        self.metadata = metadata
        self.weights = weights
        self.levelSets = levelSets
        self.binCount = binCount
        self.xLabel = xLabel
    }

    private static let levelStyles: [(color: Color, dash: [Double])] = [
        (.vermillion, []), (.black, [10, 6]), (.bluishGreen, [3, 5]), (.reddishPurple, [14, 5, 3, 5]),
    ]

    public func draw(on canvas: ChartCanvas) {
        guard let weightRange = finiteRange(weights) else {
            canvas.drawNoData(title: metadata.title, reason: "the weights are empty or not finite (NaN/∞)")
            return
        }
        let finiteCount = weights.lazy.filter(\.isFinite).count
        let bins = max(1, binCount ?? min(80, max(8, Int((2 * Double(finiteCount).squareRoot()).rounded()))))
        let binRange = widened(weightRange)
        let histogram = Histogram(weights, lower: binRange.lower, upper: binRange.upper, binCount: bins)
        let allLevels = levelSets.flatMap(\.levels)
        let xRange = finiteRange(allLevels).map { (lower: min($0.lower, binRange.lower), upper: max($0.upper, binRange.upper)) } ?? binRange

        let barColor = Color.skyBlue.withAlpha(0.75)
        var legend = [LegendEntry(label: "weights (n = \(TickFormat.grouped(finiteCount)))", swatch: .box(barColor))]
        for (index, set) in levelSets.enumerated() {
            let style = Self.levelStyles[index % Self.levelStyles.count]
            legend.append(LegendEntry(label: "\(set.name) (\(set.levels.count) levels)",
                                      swatch: .line(style.color, dash: style.dash)))
        }
        let area = canvas.drawHeader(title: metadata.title, legend: legend)
        let maxCount = Double(histogram.counts.max() ?? 1)
        let frame = canvas.layoutPlot(in: area,
                                      x: AxisSpec(label: xLabel, kind: .numeric(lower: xRange.lower, upper: xRange.upper, logarithmic: false)),
                                      y: AxisSpec(label: "weights per bin (count)", kind: .numeric(lower: 0, upper: maxCount * 1.05, logarithmic: false)))
        canvas.drawGrid(frame)
        for (index, count) in histogram.counts.enumerated() where count > 0 {
            guard let x0 = frame.px(histogram.edge(index)), let x1 = frame.px(histogram.edge(index + 1)),
                  let top = frame.py(Double(count)), let base = frame.py(0) else { continue }
            canvas.fill(Rect(x: x0 + 0.5, y: top, width: max(1, x1 - x0 - 1), height: base - top), barColor)
        }
        for (index, set) in levelSets.enumerated() {
            let style = Self.levelStyles[index % Self.levelStyles.count]
            for level in set.levels {
                guard let x = frame.px(Double(level)) else { continue }
                canvas.line(from: Point(x: x, y: frame.plot.minY), to: Point(x: x, y: frame.plot.maxY),
                            style.color, width: 2.2, dash: style.dash)
            }
        }
        canvas.drawAxes(frame)
    }
}
