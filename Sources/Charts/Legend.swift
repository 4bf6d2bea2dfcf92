/// How a legend entry shows its series.
enum Swatch: Equatable {
    /// A filled box (bars, histogram bins, heatmap categories).
    case box(Color)
    /// A box with diagonal stripes of the colour (stalls).
    case hatched(Color)
    /// A line, optionally dashed (lengths in 1600×1000 pixels), with an optional marker in its middle.
    case line(Color, dash: [Double] = [], marker: MarkerShape? = nil)
    /// A marker alone (a series drawn as one point, with no line through it).
    case point(Color, MarkerShape)
    /// An error bar: a vertical line with a cap at each end (intervals around bars).
    case errorBar(Color)
}

/// One legend item: a swatch and the series name.
struct LegendEntry: Equatable {
    var label: String
    var swatch: Swatch
}

extension ChartCanvas {
    private var swatchSize: (width: Double, height: Double) { (40 * unit, 18 * unit) }

    /// Lays the entries out in centred rows within `width` pixels; returns each row's entries and widths.
    private func legendRows(_ entries: [LegendEntry], width: Double) -> [[(entry: LegendEntry, width: Double)]] {
        let gap = 30 * unit
        var rows: [[(entry: LegendEntry, width: Double)]] = [[]]
        var used = 0.0
        for entry in entries {
            let label = truncated(entry.label, .legend, maxWidth: width / 2)
            let itemWidth = swatchSize.width + 10 * unit + measure(label, .legend).width
            if !rows[rows.count - 1].isEmpty && used + gap + itemWidth > width {
                rows.append([])
                used = 0
            }
            used += (rows[rows.count - 1].isEmpty ? 0 : gap) + itemWidth
            rows[rows.count - 1].append((LegendEntry(label: label, swatch: entry.swatch), itemWidth))
        }
        return rows
    }

    /// Height the legend needs when laid out within `width` pixels (0 for no entries).
    func legendHeight(_ entries: [LegendEntry], width: Double) -> Double {
        guard !entries.isEmpty else { return 0 }
        return Double(legendRows(entries, width: width).count) * lineHeight(.legend) * 1.35
    }

    /// Draws the legend as centred rows starting at the top of `area`.
    func drawLegend(_ entries: [LegendEntry], in area: Rect) {
        guard !entries.isEmpty else { return }
        let gap = 30 * unit
        let rowHeight = lineHeight(.legend) * 1.35
        for (rowIndex, row) in legendRows(entries, width: area.width).enumerated() {
            let rowWidth = row.map(\.width).reduce(0, +) + gap * Double(row.count - 1)
            var x = area.midX - rowWidth / 2
            let midY = area.minY + (Double(rowIndex) + 0.5) * rowHeight
            for item in row {
                drawSwatch(item.entry.swatch, in: Rect(x: x, y: midY - swatchSize.height / 2,
                                                       width: swatchSize.width, height: swatchSize.height))
                text(item.entry.label, at: Point(x: x + swatchSize.width + 10 * unit, y: midY), .legend, anchor: .left)
                x += item.width + gap
            }
        }
    }

    private func drawSwatch(_ swatch: Swatch, in rect: Rect) {
        switch swatch {
        case .box(let color):
            fill(rect, color)
        case .hatched(let color):
            hatch(rect, color, background: color.withAlpha(0.25))
        case .line(let color, let dash, let marker):
            line(from: Point(x: rect.minX, y: rect.midY), to: Point(x: rect.maxX, y: rect.midY), color,
                 width: 3, dash: dash)
            if let marker { self.marker(marker, at: Point(x: rect.midX, y: rect.midY), size: 13, color) }
        case .point(let color, let marker):
            self.marker(marker, at: Point(x: rect.midX, y: rect.midY), size: 13, color)
        case .errorBar(let color):
            errorBar(x: rect.midX, from: rect.minY - 2 * unit, to: rect.maxY + 2 * unit, capWidth: rect.height * 0.8, color)
        }
    }
}
