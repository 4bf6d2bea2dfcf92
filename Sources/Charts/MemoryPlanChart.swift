/// A horizontal memory budget line, e.g. "RAM" at 32 GiB or "VRAM" at 24 GiB.
public struct MemoryLimit: Sendable, Equatable {
    public var name: String
    /// The budget in bytes.
    public var bytes: Double

    public init(name: String, bytes: Double) {
        self.name = name
        self.bytes = bytes
    }
}

/// Memory plan: for each precision mix a bar of bytes stacked by tensor class (embeddings, attention,
/// experts, …), against horizontal RAM/VRAM limit lines; y in GiB (2^30 bytes).
public struct MemoryPlanChart: Chart {
    public var metadata: PNGMetadata
    /// Precision mixes along x, e.g. "fp32", "attn q8_0 + experts q4_0".
    public var mixes: [String]
    /// One series per tensor class, with bytes for each mix (NaN or negative counts as 0).
    public var tensorClasses: [BarSeries]
    public var limits: [MemoryLimit]
    /// x axis label.
    public var xLabel: String

    public init(metadata: PNGMetadata, mixes: [String], tensorClasses: [BarSeries], limits: [MemoryLimit] = [],
                xLabel: String = "precision mix") {
        self.metadata = metadata
        self.mixes = mixes
        self.tensorClasses = tensorClasses
        self.limits = limits
        self.xLabel = xLabel
    }

    private static let gibibyte = 1024.0 * 1024 * 1024
    private static let limitDashes: [[Double]] = [[14, 7], [4, 5], [14, 5, 3, 5]]

    /// GiB of tensor class `tensorClass` in mix `mix` (0 when missing, NaN or negative).
    private func gibibytes(_ tensorClass: Int, _ mix: Int) -> Double {
        let values = tensorClasses[tensorClass].values
        guard mix < values.count, values[mix].isFinite, values[mix] > 0 else { return 0 }
        return values[mix] / Self.gibibyte
    }

    public func draw(on canvas: ChartCanvas) {
        let totals = mixes.indices.map { mix in tensorClasses.indices.map { gibibytes($0, mix) }.reduce(0, +) }
        guard let largest = totals.max(), largest > 0 else {
            canvas.drawNoData(title: metadata.title, reason: "no memory sizes to show (no mixes, or only zero/NaN bytes)")
            return
        }
        let shownLimits = limits.filter { $0.bytes.isFinite && $0.bytes > 0 }
        let top = max(largest, shownLimits.map { $0.bytes / Self.gibibyte }.max() ?? 0) * 1.08
        let legend = tensorClasses.enumerated().map { LegendEntry(label: $1.name, swatch: .box(Color.series($0))) }
        let area = canvas.drawHeader(title: metadata.title, legend: legend)
        let labelWidth = shownLimits.map { canvas.measure(limitLabel($0), .annotation).width / canvas.unit }.max() ?? 0
        let frame = canvas.layoutPlot(in: area, x: AxisSpec(label: xLabel, kind: .bands(mixes)),
                                      y: AxisSpec(label: "memory (GiB)", kind: .numeric(lower: 0, upper: top, logarithmic: false)),
                                      rightMargin: max(40, labelWidth + 30))
        canvas.drawGrid(frame)
        var totalLabels: [(text: String, at: Point)] = []
        // one decimal on every bar (not "88" beside "47.2"), as the lessons' tables print GiB
        let totalTexts = totals.map { String(format: largest < 1000 ? "%.1f" : "%.0f", $0) }
        for (mix, total) in totals.enumerated() {
            let band = frame.xBand(mix)
            let barWidth = (band.upper - band.lower) * 0.6
            let x = band.lower + (band.upper - band.lower) * 0.2
            var stacked = 0.0
            for tensorClass in tensorClasses.indices {
                let size = gibibytes(tensorClass, mix)
                guard size > 0, let y0 = frame.py(stacked), let y1 = frame.py(stacked + size) else { continue }
                canvas.fill(Rect(x: x, y: y1, width: barWidth, height: max(1, y0 - y1 - 1)), Color.series(tensorClass))
                stacked += size
            }
            if let y = frame.py(total) {
                totalLabels.append((totalTexts[mix] + " GiB", Point(x: x + barWidth / 2, y: y - 4 * canvas.unit)))
            }
        }
        drawLimits(shownLimits, frame: frame, on: canvas)
        // Each bar's total just above the bar, or, where a limit line crosses that place, just above the
        // line, so that no line runs through its digits.
        let lineYs = shownLimits.compactMap { frame.py($0.bytes / Self.gibibyte) }.sorted(by: >)
        let height = canvas.lineHeight(.annotation), gap = 4 * canvas.unit
        for label in totalLabels {
            var bottom = label.at.y
            for y in lineYs where y <= bottom + gap && y >= bottom - height - gap { bottom = y - gap }
            canvas.text(label.text, at: Point(x: label.at.x, y: bottom), .annotation, anchor: .bottom)
        }
        canvas.drawAxes(frame)
    }

    private func limitLabel(_ limit: MemoryLimit) -> String {
        "\(limit.name) \(TickFormat.compact(limit.bytes / Self.gibibyte)) GiB"
    }

    /// Dashed lines across the plot with their labels to the right, pushed apart so they never overlap.
    private func drawLimits(_ limits: [MemoryLimit], frame: PlotFrame, on canvas: ChartCanvas) {
        let lineHeight = canvas.lineHeight(.annotation)
        var previousLabelY = -Double.infinity
        let ordered = limits.enumerated().sorted { $0.element.bytes > $1.element.bytes }
        for (index, limit) in ordered {
            guard let y = frame.py(limit.bytes / Self.gibibyte) else { continue }
            let dash = Self.limitDashes[index % Self.limitDashes.count]
            canvas.line(from: Point(x: frame.plot.minX, y: y), to: Point(x: frame.plot.maxX, y: y), .ink, width: 2.5, dash: dash)
            let labelY = max(y, previousLabelY + lineHeight * 1.1)
            canvas.text(limitLabel(limit), at: Point(x: frame.plot.maxX + 8 * canvas.unit, y: labelY), .annotation, anchor: .left)
            previousLabelY = labelY
        }
    }
}
