import Foundation

/// One axis of a plot before layout: its label (with unit) and what runs along it.
struct AxisSpec {
    enum Kind {
        /// Numbers from `lower` to `upper`; a log10 axis needs `lower > 0`. `margin` > 0 extends a linear
        /// axis by that share of its width beyond each end, not to whole tick steps (`NumericScale.linear`).
        case numeric(lower: Double, upper: Double, logarithmic: Bool, margin: Double = 0)
        /// Equal-width bands, one per label, in order (left to right, or top to bottom).
        case bands([String])
    }

    var label: String
    var kind: Kind
    /// The smallest distance between ticks of a linear numeric axis (1 for counts such as layer numbers,
    /// so no tick falls between two of them); 0: any nice step.
    var minimumTickStep: Double = 0
}

/// An axis after layout: the ticks chosen for the space available.
enum ResolvedAxis {
    case numeric(NumericScale)
    /// Band labels; `every` > 1 labels only every `every`-th band, `degrees` is the text rotation.
    case bands(labels: [String], every: Int, degrees: Double)
}

/// A laid-out plot: the data rectangle and how values map to pixels in it.
struct PlotFrame {
    let plot: Rect
    let x: ResolvedAxis
    let y: ResolvedAxis
    let xLabel: String
    let yLabel: String
    /// Left edge of the area the plot was laid out in (the y label is drawn there).
    var areaMinX = 0.0

    /// Pixel x of a numeric value (nil for NaN or non-positive values on a log axis).
    func px(_ value: Double) -> Double? {
        guard case .numeric(let scale) = x, let f = scale.fraction(value) else { return nil }
        return plot.minX + f * plot.width
    }

    /// Pixel y of a numeric value (up is larger).
    func py(_ value: Double) -> Double? {
        guard case .numeric(let scale) = y, let f = scale.fraction(value) else { return nil }
        return plot.maxY - f * plot.height
    }

    /// Pixel y of a numeric value clamped to the plot.
    func pyClamped(_ value: Double) -> Double? {
        py(value).map { min(max($0, plot.minY), plot.maxY) }
    }

    /// Left and right pixel edges of band `index` along x.
    func xBand(_ index: Int) -> (lower: Double, upper: Double) {
        guard case .bands(let labels, _, _) = x else { return (plot.minX, plot.maxX) }
        let width = plot.width / Double(max(1, labels.count))
        return (plot.minX + Double(index) * width, plot.minX + Double(index + 1) * width)
    }

    /// Top and bottom pixel edges of band `index` along y (band 0 at the top).
    func yBand(_ index: Int) -> (lower: Double, upper: Double) {
        guard case .bands(let labels, _, _) = y else { return (plot.minY, plot.maxY) }
        let height = plot.height / Double(max(1, labels.count))
        return (plot.minY + Double(index) * height, plot.minY + Double(index + 1) * height)
    }
}

/// Spacing constants in 1600×1000 pixels.
private enum Spacing {
    static let margin = 24.0
    static let tickLength = 7.0
    static let gap = 10.0
    /// Longest band label before it is shortened with "…".
    static let maxBandLabel = 230.0
}

extension ChartCanvas {
    /// Paints the title and the legend (also for a single series, so its name is on the chart); returns
    /// the area below them.
    func drawHeader(title: String, legend: [LegendEntry]) -> Rect {
        let margin = Spacing.margin * unit
        let titleHeight = lineHeight(.title)
        let shown = truncated(title, .title, maxWidth: Double(width) - 2 * margin)
        text(shown, at: Point(x: Double(width) / 2, y: margin), .title, anchor: .top)
        var top = margin + titleHeight + 12 * unit
        let legendArea = Rect(x: margin, y: top, width: Double(width) - 2 * margin, height: 0)
        drawLegend(legend, in: legendArea)
        top += legendHeight(legend, width: legendArea.width) + (legend.isEmpty ? 0 : 10 * unit)
        return Rect(x: 0, y: top, width: Double(width), height: Double(height) - top)
    }

    /// Draws a chart that has nothing to show: the title, "No data" and the reason.
    func drawNoData(title: String, reason: String) {
        _ = drawHeader(title: title, legend: [])
        let center = Point(x: Double(width) / 2, y: Double(height) / 2)
        text("No data", at: center, .noData, color: .mutedInk, anchor: .bottom)
        text(truncated(reason, .axisLabel, maxWidth: Double(width) * 0.9),
             at: Point(x: center.x, y: center.y + 14 * unit), .axisLabel, color: .mutedInk, anchor: .top)
    }

    /// Chooses ticks and label placement for both axes so that no labels overlap, and places the plot
    /// rectangle inside `area`, leaving `rightMargin` pixels (1600×1000 units) on the right for
    /// annotations such as a colour bar.
    func layoutPlot(in area: Rect, x: AxisSpec, y: AxisSpec, rightMargin: Double = 40) -> PlotFrame {
        let margin = Spacing.margin * unit
        let tickArea = (Spacing.tickLength + Spacing.gap) * unit
        var plotHeight = area.height - 120 * unit
        var plot = area
        var resolvedX = ResolvedAxis.numeric(.linear(lower: 0, upper: 1, maxTickCount: 2))
        var resolvedY = resolvedX
        // Two passes: the y ticks set the left margin, the x labels set the bottom margin and so the height.
        for _ in 0..<2 {
            resolvedY = resolveY(y.kind, minimumStep: y.minimumTickStep, length: plotHeight)
            let left = area.minX + margin + lineHeight(.axisLabel) + Spacing.gap * unit
                + maxLabelWidth(resolvedY) + tickArea
            let plotWidth = area.maxX - rightMargin * unit - left
            resolvedX = resolveX(x.kind, minimumStep: x.minimumTickStep, length: plotWidth)
            let bottom = tickArea + xLabelExtent(resolvedX) + Spacing.gap * unit + lineHeight(.axisLabel) + margin
            plotHeight = area.height - bottom - 8 * unit
            plot = Rect(x: left, y: area.minY + 8 * unit, width: plotWidth, height: plotHeight)
        }
        return PlotFrame(plot: plot, x: resolvedX, y: resolvedY, xLabel: x.label, yLabel: y.label, areaMinX: area.minX)
    }

    private func maxLabelWidth(_ axis: ResolvedAxis) -> Double {
        switch axis {
        case .numeric(let scale): return scale.labels.map { measure($0, .tick).width }.max() ?? 0
        case .bands(let labels, _, _): return labels.map { measure($0, .tick).width }.max() ?? 0
        }
    }

    /// Vertical space the x tick labels take.
    private func xLabelExtent(_ axis: ResolvedAxis) -> Double {
        let lh = lineHeight(.tick)
        guard case .bands(let labels, _, let degrees) = axis, degrees != 0 else {
            guard case .bands(let labels, _, _) = axis else { return lh }
            return lh * Double(labels.map { $0.split(separator: "\n").count }.max() ?? 1)
        }
        let longest = labels.map { measure($0, .tick).width }.max() ?? 0
        let radians = degrees * Double.pi / 180
        return longest * sin(radians) + lh * cos(radians)
    }

    private func resolveY(_ kind: AxisSpec.Kind, minimumStep: Double, length: Double) -> ResolvedAxis {
        switch kind {
        case .numeric(let lower, let upper, let logarithmic, let margin):
            let count = max(2, Int(length / (70 * unit)))
            return .numeric(logarithmic ? .logarithmic(lower: lower, upper: upper, maxTickCount: count)
                                        : .linear(lower: lower, upper: upper, maxTickCount: count, minimumStep: minimumStep, margin: margin))
        case .bands(let raw):
            let labels = raw.map { truncated($0, .tick, maxWidth: Spacing.maxBandLabel * unit) }
            let bandHeight = length / Double(max(1, labels.count))
            let every = max(1, Int((lineHeight(.tick) * 1.1 / bandHeight).rounded(.up)))
            return .bands(labels: labels, every: every, degrees: 0)
        }
    }

    private func resolveX(_ kind: AxisSpec.Kind, minimumStep: Double, length: Double) -> ResolvedAxis {
        switch kind {
        case .numeric(let lower, let upper, let logarithmic, let margin):
            // Fewer ticks until neighbouring labels have at least 20 px between them.
            var count = max(2, Int(length / (110 * unit)))
            while true {
                let scale = logarithmic ? NumericScale.logarithmic(lower: lower, upper: upper, maxTickCount: count)
                                        : NumericScale.linear(lower: lower, upper: upper, maxTickCount: count, minimumStep: minimumStep, margin: margin)
                if count == 2 || !numericLabelsOverlap(scale, length: length) { return .numeric(scale) }
                count -= 1
            }
        case .bands(let raw):
            let bandWidth = length / Double(max(1, raw.count))
            if (raw.map { measure($0, .tick).width }.max() ?? 0) + 12 * unit <= bandWidth {
                return .bands(labels: raw, every: 1, degrees: 0)
            }
            // Labels that are lists ("attn=int8,experts=q4,…") wrap after their commas, up to 3 lines each.
            let wrapped = raw.map { wrapAtCommas($0, width: bandWidth - 12 * unit) }
            if wrapped.allSatisfy({ $0.count <= 3 && $0.allSatisfy { measure($0, .tick).width + 12 * unit <= bandWidth } }) {
                return .bands(labels: wrapped.map { $0.joined(separator: "\n") }, every: 1, degrees: 0)
            }
            let labels = raw.map { truncated($0, .tick, maxWidth: Spacing.maxBandLabel * unit) }
            let lh = lineHeight(.tick)
            if bandWidth * sin(Double.pi / 4) >= lh * 1.05 { return .bands(labels: labels, every: 1, degrees: 45) }
            let every = max(1, Int((lh * 1.1 / bandWidth).rounded(.up)))
            return .bands(labels: labels, every: every, degrees: 90)
        }
    }

    /// `label` split after its commas into lines of at most `width` pixels (a piece wider than that keeps a
    /// line of its own).
    private func wrapAtCommas(_ label: String, width: Double) -> [String] {
        var lines: [String] = []
        for piece in label.split(separator: ",", omittingEmptySubsequences: false).enumerated().map({ $0.offset == 0 ? String($0.element) : "," + $0.element }) {
            if let last = lines.last, measure(last + piece, .tick).width <= width {
                lines[lines.count - 1] = last + piece
            } else {
                lines.append(lines.isEmpty ? piece : String(piece.dropFirst()))
                if lines.count > 1 { lines[lines.count - 2] += "," }
            }
        }
        return lines
    }

    private func numericLabelsOverlap(_ scale: NumericScale, length: Double) -> Bool {
        var previousRight = -Double.infinity
        for (tick, label) in zip(scale.ticks, scale.labels) {
            guard let f = scale.fraction(tick) else { continue }
            let center = f * length
            let half = measure(label, .tick).width / 2
            if center - half < previousRight + 20 * unit { return true }
            previousRight = center + half
        }
        return false
    }

    /// Light grid lines at the numeric ticks, drawn before the data.
    func drawGrid(_ frame: PlotFrame) {
        let plot = frame.plot
        if case .numeric(let scale) = frame.y {
            for tick in scale.ticks {
                guard let y = frame.py(tick) else { continue }
                line(from: Point(x: plot.minX, y: y), to: Point(x: plot.maxX, y: y), .grid, width: 1.2)
            }
        }
        if case .numeric(let scale) = frame.x {
            for tick in scale.ticks {
                guard let x = frame.px(tick) else { continue }
                line(from: Point(x: x, y: plot.minY), to: Point(x: x, y: plot.maxY), .grid, width: 1.2)
            }
        }
    }

    /// Axis lines, ticks, tick labels and axis labels, drawn after the data.
    func drawAxes(_ frame: PlotFrame) {
        let plot = frame.plot
        let tick = Spacing.tickLength * unit
        line(from: Point(x: plot.minX, y: plot.maxY), to: Point(x: plot.maxX, y: plot.maxY), .ink, width: 1.5)
        line(from: Point(x: plot.minX, y: plot.minY), to: Point(x: plot.minX, y: plot.maxY), .ink, width: 1.5)

        // x ticks and labels
        switch frame.x {
        case .numeric(let scale):
            for (value, label) in zip(scale.ticks, scale.labels) {
                guard let x = frame.px(value) else { continue }
                line(from: Point(x: x, y: plot.maxY), to: Point(x: x, y: plot.maxY + tick), .ink, width: 1.5)
                text(label, at: Point(x: x, y: plot.maxY + tick + 4 * unit), .tick, anchor: .top)
            }
        case .bands(let labels, let every, let degrees):
            for (index, label) in labels.enumerated() where index % every == 0 {
                let band = frame.xBand(index)
                let x = (band.lower + band.upper) / 2
                line(from: Point(x: x, y: plot.maxY), to: Point(x: x, y: plot.maxY + tick), .ink, width: 1.5)
                let at = Point(x: x, y: plot.maxY + tick + 4 * unit)
                if degrees == 0 {
                    for (line, part) in label.split(separator: "\n").enumerated() {
                        text(String(part), at: Point(x: at.x, y: at.y + Double(line) * lineHeight(.tick)), .tick, anchor: .top)
                    }
                } else {
                    text(label, at: at, .tick, anchor: degrees == 90 ? .right : TextAnchor(x: 1, y: 0.3),
                         degrees: degrees)
                }
            }
        }

        // y ticks and labels
        switch frame.y {
        case .numeric(let scale):
            for (value, label) in zip(scale.ticks, scale.labels) {
                guard let y = frame.py(value) else { continue }
                line(from: Point(x: plot.minX - tick, y: y), to: Point(x: plot.minX, y: y), .ink, width: 1.5)
                text(label, at: Point(x: plot.minX - tick - 5 * unit, y: y), .tick, anchor: .right)
            }
        case .bands(let labels, let every, _):
            for (index, label) in labels.enumerated() where index % every == 0 {
                let band = frame.yBand(index)
                let y = (band.lower + band.upper) / 2
                line(from: Point(x: plot.minX - tick, y: y), to: Point(x: plot.minX, y: y), .ink, width: 1.5)
                text(label, at: Point(x: plot.minX - tick - 5 * unit, y: y), .tick, anchor: .right)
            }
        }

        // axis labels
        let margin = Spacing.margin * unit
        text(truncated(frame.xLabel, .axisLabel, maxWidth: plot.width), at: Point(x: plot.midX, y: Double(height) - margin),
             .axisLabel, anchor: .bottom)
        text(truncated(frame.yLabel, .axisLabel, maxWidth: plot.height), at: Point(x: frame.areaMinX + margin, y: plot.midY),
             .axisLabel, anchor: .top, degrees: 90)
    }
}
