/// The quantization errors of one precision.
public struct ErrorSeries: Sendable, Equatable {
    /// Legend text, e.g. "q4_0".
    public var name: String
    /// dequantized − original, one value per weight; NaN and infinities are skipped.
    public var errors: [Float]

    public init(name: String, errors: [Float]) {
        self.name = name
        self.errors = errors
    }
}

/// Histograms of quantization error (dequantized − original) per precision, drawn as outlined steps over
/// shared bins centred on zero, with an optional log-scale count axis.
public struct ErrorHistogramChart: Chart {
    public var metadata: PNGMetadata
    public var series: [ErrorSeries]
    /// Log10 count axis: shows the rare large errors next to the common small ones.
    public var logScale: Bool
    /// Number of shared bins (odd keeps zero at a bin centre).
    public var binCount: Int
    /// x axis label with unit.
    public var xLabel: String

    public init(metadata: PNGMetadata, series: [ErrorSeries], logScale: Bool = false, binCount: Int = 101,
                xLabel: String = "dequantized − original (weight units)") {
        self.metadata = metadata
        self.series = series
        self.logScale = logScale
        self.binCount = binCount
        self.xLabel = xLabel
    }

    public func draw(on canvas: ChartCanvas) {
        guard let range = finiteRange(series.lazy.flatMap(\.errors)) else {
            canvas.drawNoData(title: metadata.title, reason: "no finite errors to show (empty input or only NaN/∞)")
            return
        }
        let halfWidth = max(abs(range.lower), abs(range.upper), 1e-9) * 1.02
        let histograms = series.map { Histogram($0.errors, lower: -halfWidth, upper: halfWidth, binCount: max(1, binCount)) }
        let maxCount = Double(histograms.flatMap(\.counts).max() ?? 1)
        let legend = series.enumerated().map { LegendEntry(label: $1.name, swatch: .line(Color.series($0))) }
        let area = canvas.drawHeader(title: metadata.title, legend: legend)
        // The log axis starts at 0.5 so that a bin holding a single weight (an outlier) still shows.
        let yKind: AxisSpec.Kind = logScale ? .numeric(lower: 0.5, upper: max(maxCount, 10), logarithmic: true)
                                            : .numeric(lower: 0, upper: maxCount * 1.05, logarithmic: false)
        let frame = canvas.layoutPlot(in: area,
                                      x: AxisSpec(label: xLabel, kind: .numeric(lower: -halfWidth, upper: halfWidth, logarithmic: false)),
                                      y: AxisSpec(label: logScale ? "weights per bin (count, log scale)" : "weights per bin (count)", kind: yKind))
        canvas.drawGrid(frame)
        for (index, histogram) in histograms.enumerated() {
            let color = Color.series(index)
            // Steps along the bin tops; empty bins (and zero on a log axis) sit on the bottom edge.
            var outline: [Point] = []
            for (bin, count) in histogram.counts.enumerated() {
                guard let x0 = frame.px(histogram.edge(bin)), let x1 = frame.px(histogram.edge(bin + 1)) else { continue }
                let y = count > 0 ? (frame.pyClamped(Double(count)) ?? frame.plot.maxY) : frame.plot.maxY
                outline += [Point(x: x0, y: y), Point(x: x1, y: y)]
            }
            guard let first = outline.first, let last = outline.last else { continue }
            canvas.fillPolygon([Point(x: first.x, y: frame.plot.maxY)] + outline + [Point(x: last.x, y: frame.plot.maxY)],
                               color.withAlpha(0.12))
            canvas.polyline(outline, color, width: 2.5)
        }
        canvas.drawAxes(frame)
    }
}
