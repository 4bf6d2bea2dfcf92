import Foundation

/// Routing of a prompt as a grid: rows are experts of one layer (or layers), columns are the prompt's
/// tokens labelled with their text.
public struct RoutingHeatmap: Chart {
    /// What the cells hold.
    public enum Cells: Sendable, Equatable {
        /// A number per cell, `values[row][column]` (e.g. the router weight after top-k and softmax), coloured
        /// with viridis over `range` (nil: the data's range) and explained by a colour bar labelled `label`
        /// (with unit). NaN cells are left empty (light grey), e.g. experts the router did not choose.
        case continuous(values: [[Double]], label: String, range: ClosedRange<Double>? = nil)
        /// An expert index per cell, `ids[row][column]` (nil: none), one Okabe–Ito colour per index
        /// (they repeat after 8), explained by a legend using `names[id]`.
        case categorical(ids: [[Int?]], names: [String])
    }

    public var metadata: PNGMetadata
    /// One label per row, top to bottom, e.g. "expert 0" or "layer 12".
    public var rowLabels: [String]
    /// Token texts, one per column, as the tokenizer produced them (escaped for display by the chart).
    public var tokens: [String]
    public var cells: Cells
    /// Axis labels, e.g. "expert (layer 0)" and "prompt token".
    public var rowAxisLabel: String
    public var columnAxisLabel: String
    /// What an empty cell (NaN or nil) means, shown next to a light grey swatch, e.g. "not chosen".
    public var emptyCellLabel: String
    /// How many of the first columns are the prompt, when generated tokens follow it: a black line is drawn
    /// between the prompt's last column and the first generated one (nil, or not inside the columns: none).
    /// Say what the line means in `columnAxisLabel`.
    public var promptTokens: Int?

    public init(metadata: PNGMetadata, rowLabels: [String], tokens: [String], cells: Cells,
                rowAxisLabel: String = "expert", columnAxisLabel: String = "prompt token (in order)",
                emptyCellLabel: String = "not chosen", promptTokens: Int? = nil) {
        self.metadata = metadata
        self.rowLabels = rowLabels
        self.tokens = tokens
        self.cells = cells
        self.rowAxisLabel = rowAxisLabel
        self.columnAxisLabel = columnAxisLabel
        self.emptyCellLabel = emptyCellLabel
        self.promptTokens = promptTokens
    }

    private static let emptyCellColor = Color(hex: 0xEDEDED)

    /// A token as it is shown under its column: newline "↵", tab "⇥", carriage return "␍", a space or
    /// SentencePiece's space marker "▁" (U+2581, which looks like an underscore) "␣", an empty token "∅".
    public static func displayText(ofToken token: String) -> String {
        if token.isEmpty { return "∅" }
        return token.replacingOccurrences(of: "\n", with: "↵")
            .replacingOccurrences(of: "\t", with: "⇥")
            .replacingOccurrences(of: "\r", with: "␍")
            .replacingOccurrences(of: " ", with: "␣")
            .replacingOccurrences(of: "▁", with: "␣")
    }

    /// Cell `(row, column)` as a colour and the text to print in it (nil: leave the cell empty).
    private func cell(_ row: Int, _ column: Int, colorRange: (lower: Double, upper: Double)) -> (Color, String?)? {
        switch cells {
        case .continuous(let values, _, _):
            guard row < values.count, column < values[row].count, values[row][column].isFinite else { return nil }
            let value = values[row][column]
            let t = (value - colorRange.lower) / (colorRange.upper - colorRange.lower)
            return (Viridis.color(at: t), String(format: "%.2f", value))
        case .categorical(let ids, _):
            guard row < ids.count, column < ids[row].count, let id = ids[row][column], id >= 0 else { return nil }
            return (Color.series(id), String(id))
        }
    }

    public func draw(on canvas: ChartCanvas) {
        var colorRange = (lower: 0.0, upper: 1.0)
        var legend: [LegendEntry] = []
        var hasData = false
        switch cells {
        case .continuous(let values, _, let range):
            if let data = finiteRange(values.flatMap { $0 }) {
                hasData = true
                colorRange = range.map { (lower: $0.lowerBound, upper: $0.upperBound) } ?? widened(data)
            }
        case .categorical(let ids, let names):
            let used = Set(ids.flatMap { $0.compactMap { $0 } }.filter { $0 >= 0 })
            hasData = !used.isEmpty
            legend = used.sorted().map { LegendEntry(label: $0 < names.count ? names[$0] : "expert \($0)", swatch: .box(Color.series($0))) }
        }
        guard hasData, !rowLabels.isEmpty, !tokens.isEmpty else {
            canvas.drawNoData(title: metadata.title, reason: "no routing values to show (no tokens, no rows, or only NaN)")
            return
        }
        let hasEmptyCells = rowLabels.indices.contains { row in
            tokens.indices.contains { cell(row, $0, colorRange: colorRange) == nil }
        }
        if hasEmptyCells && !legend.isEmpty {
            legend.append(LegendEntry(label: emptyCellLabel, swatch: .box(Self.emptyCellColor)))
        }
        let area = canvas.drawHeader(title: metadata.title, legend: legend)
        let hasColorBar: Bool
        if case .continuous = cells { hasColorBar = true } else { hasColorBar = false }
        let frame = canvas.layoutPlot(in: area,
                                      x: AxisSpec(label: columnAxisLabel, kind: .bands(tokens.map(Self.displayText(ofToken:)))),
                                      y: AxisSpec(label: rowAxisLabel, kind: .bands(rowLabels)),
                                      rightMargin: hasColorBar ? 190 : 40)
        for row in rowLabels.indices {
            let yBand = frame.yBand(row)
            for column in tokens.indices {
                let xBand = frame.xBand(column)
                let rect = Rect(x: xBand.lower + 1, y: yBand.lower + 1, width: xBand.upper - xBand.lower - 2,
                                height: yBand.upper - yBand.lower - 2)
                guard let (color, label) = cell(row, column, colorRange: colorRange) else {
                    canvas.fill(rect, Self.emptyCellColor)
                    continue
                }
                canvas.fill(rect, color)
                if let label, canvas.measure(label, .annotation).width + 4 <= rect.width,
                   canvas.lineHeight(.annotation) <= rect.height {
                    canvas.text(label, at: Point(x: rect.midX, y: rect.midY), .annotation, color: color.contrastingText)
                }
            }
        }
        if let promptTokens, promptTokens > 0, promptTokens < tokens.count {
            let x = frame.xBand(promptTokens).lower
            canvas.line(from: Point(x: x, y: frame.plot.minY), to: Point(x: x, y: frame.plot.maxY), .ink, width: 4)
        }
        canvas.drawAxes(frame)
        if case .continuous(_, let label, _) = cells {
            drawColorBar(label: label, range: colorRange, beside: frame.plot, withEmptySwatch: hasEmptyCells, on: canvas)
        }
    }

    /// A vertical viridis bar to the right of the plot with ticks of the value range and its label, and
    /// below it, when some cells are empty, a grey swatch labelled with what empty means.
    private func drawColorBar(label: String, range: (lower: Double, upper: Double), beside plot: Rect,
                              withEmptySwatch: Bool, on canvas: ChartCanvas) {
        let u = canvas.unit
        let swatchHeight = withEmptySwatch ? 28 * u : 0
        let bar = Rect(x: plot.maxX + 30 * u, y: plot.minY, width: 28 * u,
                       height: plot.height - (withEmptySwatch ? swatchHeight + 30 * u : 0))
        if withEmptySwatch {
            let swatch = Rect(x: bar.x, y: plot.maxY - swatchHeight, width: bar.width, height: swatchHeight)
            canvas.fill(swatch, Self.emptyCellColor)
            canvas.stroke(swatch, .ink, width: 1)
            canvas.text(canvas.truncated(emptyCellLabel, .tick, maxWidth: 120 * u), at: Point(x: swatch.maxX + 10 * u, y: swatch.midY),
                        .tick, anchor: .left)
        }
        let steps = 128
        for i in 0..<steps {
            let t0 = Double(i) / Double(steps)
            let y = bar.maxY - (t0 + 1 / Double(steps)) * bar.height
            canvas.fill(Rect(x: bar.x, y: y, width: bar.width, height: bar.height / Double(steps) + 0.5),
                        Viridis.color(at: t0 + 0.5 / Double(steps)))
        }
        canvas.stroke(bar, .ink, width: 1)
        let scale = NumericScale.linear(lower: range.lower, upper: range.upper, maxTickCount: max(2, Int(plot.height / (70 * u))))
        for (tick, text) in zip(scale.ticks, scale.labels) where tick >= range.lower - 1e-12 && tick <= range.upper + 1e-12 {
            let y = bar.maxY - (tick - range.lower) / (range.upper - range.lower) * bar.height
            canvas.line(from: Point(x: bar.maxX, y: y), to: Point(x: bar.maxX + 6 * u, y: y), .ink, width: 1.5)
            canvas.text(text, at: Point(x: bar.maxX + 10 * u, y: y), .tick, anchor: .left)
        }
        canvas.text(canvas.truncated(label, .axisLabel, maxWidth: bar.height), at: Point(x: Double(canvas.width) - 24 * u, y: bar.midY),
                    .axisLabel, anchor: .bottom, degrees: 90)
    }
}
