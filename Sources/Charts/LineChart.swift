/// One line: points (x[i], y[i]); a non-finite point breaks the line.
public struct LineSeries: Sendable, Equatable {
    /// Legend text, e.g. "q4_0" or "LRU".
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// Optional interval around each `y[i]` (e.g. a 95 % bootstrap interval), drawn as a vertical bar with caps.
    public var yIntervals: [ClosedRange<Double>]?

    /// Pairs `x` and `y` up to the shorter of the two.
    public init(name: String, x: [Double], y: [Double], yIntervals: [ClosedRange<Double>]? = nil) {
        self.name = name
        self.x = x
        self.y = y
        self.yIntervals = yIntervals
    }
}

/// Lines with markers: e.g. residual-stream error per layer per precision, or cache hit rate against cache
/// size per policy. Each series has its own colour and marker shape.
public struct LineChart: Chart {
    public var metadata: PNGMetadata
    public var series: [LineSeries]
    /// Axis labels with units, e.g. "decoder layer" and "relative error of the residual stream".
    public var xLabel: String
    public var yLabel: String
    public var logX: Bool
    public var logY: Bool
    /// Fixed y range (e.g. 0…1 for a hit rate); nil fits the data.
    public var yRange: ClosedRange<Double>?
    public var showMarkers: Bool
    /// The smallest step between x ticks (1 when x counts something, such as layers); 0: any.
    public var minimumXTickStep: Double
    /// Share of the range added beyond each end of a linear axis (fitted to the data, or `yRange`), so that
    /// points at the extremes — a hit rate of 1, the smallest and largest cache size — sit inside the axes
    /// rather than on them; the ticks stay within the range (`NumericScale.linear`'s margin). Default 0.05,
    /// matplotlib's default axes margin; 0: the axes are widened to whole tick steps and may end at the data.
    public var dataMargin: Double

    public init(metadata: PNGMetadata, series: [LineSeries], xLabel: String, yLabel: String, logX: Bool = false,
                logY: Bool = false, yRange: ClosedRange<Double>? = nil, showMarkers: Bool = true, minimumXTickStep: Double = 0,
                dataMargin: Double = 0.05) {
        self.metadata = metadata
        self.series = series
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logX = logX
        self.logY = logY
        self.yRange = yRange
        self.showMarkers = showMarkers
        self.minimumXTickStep = minimumXTickStep
        self.dataMargin = dataMargin
    }

    /// The drawable points of a series: both coordinates finite, and positive on a log axis.
    private func points(_ line: LineSeries) -> [(x: Double, y: Double)?] {
        zip(line.x, line.y).map { x, y in
            x.isFinite && y.isFinite && (!logX || x > 0) && (!logY || y > 0) ? (x, y) : nil
        }
    }

    public func draw(on canvas: ChartCanvas) {
        guard hasData else {
            canvas.drawNoData(title: metadata.title, reason: "no finite points to show (empty input or only NaN)")
            return
        }
        drawPlot(on: canvas, in: canvas.drawHeader(title: metadata.title, legend: legend))
    }

    /// Some point of some series can be drawn.
    var hasData: Bool { series.contains { points($0).contains { $0 != nil } } }

    /// One entry per series: its name, colour and marker — the marker alone for a series of one point,
    /// which is drawn with no line.
    var legend: [LegendEntry] {
        series.enumerated().map { index, line in
            let marker = MarkerShape.forSeries(index)
            if showMarkers && points(line).compactMap({ $0 }).count == 1 {
                return LegendEntry(label: line.name, swatch: .point(Color.series(index), marker))
            }
            return LegendEntry(label: line.name, swatch: .line(Color.series(index), marker: showMarkers ? marker : nil))
        }
    }

    /// Draws the axes, grid and lines inside `area` (below the title and legend); needs `hasData`.
    func drawPlot(on canvas: ChartCanvas, in area: Rect) {
        let all = series.flatMap { points($0).compactMap { $0 } }
        let intervalEnds = series.flatMap { ($0.yIntervals ?? []).flatMap { [$0.lowerBound, $0.upperBound] } }
            .filter { $0.isFinite && (!logY || $0 > 0) }
        guard let xRange = finiteRange(all.map(\.x)), let dataY = finiteRange(all.map(\.y) + intervalEnds) else { return }
        let x = widened(xRange, minimumHalfWidth: logX ? xRange.lower * 0.5 : 1)
        let y = yRange.map { (lower: $0.lowerBound, upper: $0.upperBound) }
            ?? widened(dataY, minimumHalfWidth: logY ? dataY.lower * 0.5 : 1e-6)
        let frame = canvas.layoutPlot(in: area,
                                      x: AxisSpec(label: xLabel, kind: .numeric(lower: x.lower, upper: x.upper, logarithmic: logX, margin: dataMargin),
                                                  minimumTickStep: minimumXTickStep),
                                      y: AxisSpec(label: yLabel, kind: .numeric(lower: y.lower, upper: y.upper, logarithmic: logY, margin: dataMargin)))
        canvas.drawGrid(frame)
        // Clip to the plot plus room for a marker, so points on the edges stay whole.
        let pad = 10 * canvas.unit
        let clip = Rect(x: frame.plot.x - pad, y: frame.plot.y - pad, width: frame.plot.width + 2 * pad,
                        height: frame.plot.height + 2 * pad)
        canvas.clipped(to: clip) { drawLines(frame, on: canvas) }
        canvas.drawAxes(frame)
    }

    /// How much wider (line) and larger (marker) series `index` is drawn than the last one: series drawn
    /// earlier are drawn wider, so a series lying exactly on an earlier one (two cache policies with the same
    /// hit rates) leaves a rim of the earlier one's colour around it instead of hiding it. 0…3 steps.
    private func underlay(_ index: Int) -> Double { Double(min(max(series.count - 1 - index, 0), 3)) }

    private func drawLines(_ frame: PlotFrame, on canvas: ChartCanvas) {
        for (index, line) in series.enumerated() {
            let color = Color.series(index)
            let width = 3 + 1.5 * underlay(index), markerSize = 13 + 4 * underlay(index)
            var segment: [Point] = []
            var markers: [Point] = []
            for point in points(line) {
                guard let point, let px = frame.px(point.x), let py = frame.py(point.y) else {
                    canvas.polyline(segment, color, width: width)
                    segment = []
                    continue
                }
                segment.append(Point(x: px, y: py))
                markers.append(Point(x: px, y: py))
            }
            canvas.polyline(segment, color, width: width)
            for (i, interval) in (line.yIntervals ?? []).enumerated() where i < line.x.count {
                guard let px = frame.px(line.x[i]), let low = frame.py(interval.lowerBound), let high = frame.py(interval.upperBound) else { continue }
                canvas.errorBar(x: px, from: low, to: high, capWidth: 12 * canvas.unit, color)
            }
            if showMarkers {
                for marker in markers { canvas.marker(.forSeries(index), at: marker, size: markerSize, color) }
            }
        }
    }
}
