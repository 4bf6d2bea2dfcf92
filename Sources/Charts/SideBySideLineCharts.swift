/// Two line charts side by side under one title, each with its own subtitle (its `metadata.title`), legend
/// and axes — e.g. our measurements on the left and a paper's published points on the right, so neither's
/// scale squeezes the other's.
public struct SideBySideLineCharts: Chart {
    public var metadata: PNGMetadata
    public var left: LineChart
    public var right: LineChart

    public init(metadata: PNGMetadata, left: LineChart, right: LineChart) {
        self.metadata = metadata
        self.left = left
        self.right = right
    }

    public func draw(on canvas: ChartCanvas) {
        guard left.hasData || right.hasData else {
            canvas.drawNoData(title: metadata.title, reason: "no finite points to show in either panel")
            return
        }
        let area = canvas.drawHeader(title: metadata.title, legend: [])
        let gap = 20 * canvas.unit
        let half = (area.width - gap) / 2
        for (index, panel) in [left, right].enumerated() {
            let column = Rect(x: area.minX + Double(index) * (half + gap), y: area.minY, width: half, height: area.height)
            let subtitle = canvas.truncated(panel.metadata.title, .axisLabel, maxWidth: column.width - 40 * canvas.unit)
            canvas.text(subtitle, at: Point(x: column.midX, y: column.minY), .axisLabel, anchor: .top)
            var top = column.minY + canvas.lineHeight(.axisLabel) + 10 * canvas.unit
            let legendArea = Rect(x: column.minX + 10 * canvas.unit, y: top, width: column.width - 20 * canvas.unit, height: 0)
            canvas.drawLegend(panel.legend, in: legendArea)
            top += canvas.legendHeight(panel.legend, width: legendArea.width) + 10 * canvas.unit
            guard panel.hasData else { continue }
            panel.drawPlot(on: canvas, in: Rect(x: column.minX, y: top, width: column.width, height: column.maxY - top))
        }
    }
}
