/// One series of bars: a value per category (NaN = missing, drawn as "n/a"), optionally with an interval
/// around each value (e.g. a 95 % bootstrap interval), drawn as an error bar.
public struct BarSeries: Sendable, Equatable {
    /// Legend text, e.g. "q4_0" or "experts w1/w3/w2".
    public var name: String
    /// One value per category, in category order.
    public var values: [Double]
    /// One interval per category, in category order (empty: none; nil or a non-finite end: none for that bar).
    public var intervals: [ClosedRange<Double>?]

    public init(name: String, values: [Double], intervals: [ClosedRange<Double>?] = []) {
        self.name = name
        self.values = values
        self.intervals = intervals
    }

    /// The interval of `category` when it has finite ends.
    func interval(_ category: Int) -> ClosedRange<Double>? {
        guard category < intervals.count, let range = intervals[category],
              range.lowerBound.isFinite, range.upperBound.isFinite else { return nil }
        return range
    }
}

/// Bars grouped by category (layers or tensor classes), one bar per series (precision) in each group —
/// e.g. SNR in dB or relative error per layer for q8_0, q4_0 and nf4.
public struct GroupedBarChart: Chart {
    public var metadata: PNGMetadata
    /// Category names along x, e.g. "layer 0" or "attention wq".
    public var categories: [String]
    /// Series, each with `categories.count` values (missing values count as NaN).
    public var series: [BarSeries]
    /// x axis label, e.g. "decoder layer".
    public var xLabel: String
    /// y axis label with unit, e.g. "SNR (dB)" or "relative error ‖Ŵ−W‖/‖W‖".
    public var yLabel: String
    /// Log10 value axis (only positive values are drawn).
    public var logScale: Bool
    /// Legend text of the error bars when a series has intervals, e.g. "95 % interval (bootstrap over chunks)".
    public var intervalLabel: String

    public init(metadata: PNGMetadata, categories: [String], series: [BarSeries], xLabel: String, yLabel: String,
                logScale: Bool = false, intervalLabel: String = "95 % interval") {
        self.metadata = metadata
        self.categories = categories
        self.series = series
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logScale = logScale
        self.intervalLabel = intervalLabel
    }

    private func value(_ seriesIndex: Int, _ category: Int) -> Double {
        let values = series[seriesIndex].values
        return category < values.count ? values[category] : .nan
    }

    public func draw(on canvas: ChartCanvas) {
        let shown = series.flatMap { $0.values.prefix(categories.count) }.filter { $0.isFinite && (!logScale || $0 > 0) }
        guard !categories.isEmpty, finiteRange(shown) != nil else {
            canvas.drawNoData(title: metadata.title, reason: "no finite values to show (empty input or only NaN)")
            return
        }
        // the axis holds every bar and every interval end
        let intervalEnds = series.flatMap { s in categories.indices.compactMap { s.interval($0) }.flatMap { [$0.lowerBound, $0.upperBound] } }
        let range = finiteRange(shown + intervalEnds.filter { !logScale || $0 > 0 })!
        var legend = series.enumerated().map { LegendEntry(label: $1.name, swatch: .box(Color.series($0))) }
        if !intervalEnds.isEmpty { legend.append(LegendEntry(label: intervalLabel, swatch: .errorBar(.ink))) }
        let area = canvas.drawHeader(title: metadata.title, legend: legend)
        let yKind: AxisSpec.Kind
        if logScale {
            yKind = .numeric(lower: range.lower, upper: range.upper * 1.3, logarithmic: true)
        } else {
            let lower = min(0, range.lower), upper = max(0, range.upper)
            let headroom = (upper - lower) * 0.06
            yKind = .numeric(lower: lower < 0 ? lower - headroom : 0, upper: upper + headroom, logarithmic: false)
        }
        let frame = canvas.layoutPlot(in: area, x: AxisSpec(label: xLabel, kind: .bands(categories)),
                                      y: AxisSpec(label: yLabel, kind: yKind))
        canvas.drawGrid(frame)
        let baseline = logScale ? frame.plot.maxY : (frame.pyClamped(0) ?? frame.plot.maxY)
        // every bar's value label in one style (TickFormat.annotations), by series then category
        let labels = TickFormat.annotations(for: series.indices.flatMap { s in categories.indices.map { value(s, $0) } })
        for category in categories.indices {
            let band = frame.xBand(category)
            let groupWidth = (band.upper - band.lower) * 0.8
            let barWidth = groupWidth / Double(max(1, series.count))
            for seriesIndex in series.indices {
                let x = band.lower + (band.upper - band.lower) * 0.1 + Double(seriesIndex) * barWidth
                let value = value(seriesIndex, category)
                guard let y = frame.pyClamped(value) else {
                    drawLabel("n/a", x: x + barWidth / 2, y: baseline, above: true, maxWidth: barWidth, on: canvas)
                    continue
                }
                canvas.fill(Rect(x: x + 0.5, y: min(y, baseline), width: max(1, barWidth - 1), height: abs(baseline - y)),
                            Color.series(seriesIndex))
                // the value label goes beyond the bar's end and its interval's, on the bar's side of the baseline
                var labelY = y
                if let interval = series[seriesIndex].interval(category),
                   let low = frame.pyClamped(interval.lowerBound), let high = frame.pyClamped(interval.upperBound) {
                    canvas.errorBar(x: x + barWidth / 2, from: low, to: high, capWidth: min(barWidth * 0.4, 24 * canvas.unit))
                    labelY = y <= baseline ? min(y, high, low) : max(y, high, low)
                }
                drawLabel(labels[seriesIndex * categories.count + category], x: x + barWidth / 2, y: labelY, above: y <= baseline,
                          maxWidth: barWidth, on: canvas)
            }
        }
        canvas.drawAxes(frame)
    }

    /// A value label just above (or below, for negative bars) the bar end, only when it fits the bar width.
    private func drawLabel(_ text: String, x: Double, y: Double, above: Bool, maxWidth: Double, on canvas: ChartCanvas) {
        guard canvas.measure(text, .annotation).width + 2 <= maxWidth else { return }
        canvas.text(text, at: Point(x: x, y: above ? y - 3 * canvas.unit : y + 3 * canvas.unit), .annotation,
                    color: .mutedInk, anchor: above ? .bottom : .top)
    }
}
