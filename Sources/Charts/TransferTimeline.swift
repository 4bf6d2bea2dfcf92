/// One span of time in an offloading run.
public struct TimelineEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// The layer's compute (attention and the chosen experts).
        case compute
        /// Expert weights moving host → device because a layer needs them now (a miss: demand).
        case transfer
        /// Expert weights read ahead for a later layer (a prefetch), overlapping compute.
        case prefetch
        /// Compute waiting for a transfer to finish.
        case stall
    }

    /// Token index (0-based, generation order).
    public var token: Int
    /// Decoder layer index.
    public var layer: Int
    public var kind: Kind
    /// Start time in microseconds from the start of the run.
    public var startMicroseconds: Double
    /// Duration in microseconds.
    public var durationMicroseconds: Double
    /// Experts found in the cache (hits) and not found (misses) for this token and layer; usually carried
    /// by the compute event, 0 otherwise.
    public var hits: Int
    public var misses: Int

    public init(token: Int, layer: Int, kind: Kind, startMicroseconds: Double, durationMicroseconds: Double,
                hits: Int = 0, misses: Int = 0) {
        self.token = token
        self.layer = layer
        self.kind = kind
        self.startMicroseconds = startMicroseconds
        self.durationMicroseconds = durationMicroseconds
        self.hits = hits
        self.misses = misses
    }

    var endMicroseconds: Double { startMicroseconds + durationMicroseconds }
    var isDrawable: Bool { startMicroseconds.isFinite && durationMicroseconds.isFinite && durationMicroseconds >= 0 }
}

/// Expert-offloading timeline: compute and transfer bars on separate lanes against time — demand transfers
/// (misses) in orange, prefetches in reddish purple —, stalls hatched in vermillion on the compute lane, and
/// each layer's cache hits and misses as stacked squares (one per expert) on a third lane. Tokens are shaded
/// in alternating bands and labelled along the top.
public struct TransferTimeline: Chart {
    public var metadata: PNGMetadata
    public var events: [TimelineEvent]

    public init(metadata: PNGMetadata, events: [TimelineEvent]) {
        self.metadata = metadata
        self.events = events
    }

    private static let lanes = ["compute", "transfer", "expert cache"]
    private static let computeColor = Color.blue
    private static let transferColor = Color.orange
    private static let prefetchColor = Color.reddishPurple
    private static let stallColor = Color.vermillion
    private static let hitColor = Color.bluishGreen
    private static let missColor = Color.vermillion

    public func draw(on canvas: ChartCanvas) {
        let shown = events.filter(\.isDrawable)
        guard let range = finiteRange(shown.flatMap { [$0.startMicroseconds, $0.endMicroseconds] }) else {
            canvas.drawNoData(title: metadata.title, reason: "no timeline events to show (empty trace or only NaN times)")
            return
        }
        // Milliseconds unless the whole run is shorter than 2 ms.
        let inMilliseconds = range.upper - range.lower >= 2000
        let divisor = inMilliseconds ? 1000.0 : 1.0
        let area = canvas.drawHeader(title: metadata.title, legend: legend)
        let x = widened((range.lower / divisor, range.upper / divisor))
        // The bands are named on the time axis, since a band too narrow for "token N" stays unlabelled.
        let tokenCount = Set(shown.map(\.token)).count
        let timeLabel = (inMilliseconds ? "time (ms)" : "time (µs)")
            + (tokenCount > 1 ? "; white and grey bands alternate token by token (named where wide enough)" : "")
        let frame = canvas.layoutPlot(in: area,
                                      x: AxisSpec(label: timeLabel, kind: .numeric(lower: x.lower, upper: x.upper, logarithmic: false)),
                                      y: AxisSpec(label: "lane", kind: .bands(Self.lanes)))
        let px = { (microseconds: Double) in frame.px(microseconds / divisor) ?? frame.plot.minX }
        drawTokenBands(shown, px: px, frame: frame, on: canvas)
        canvas.drawGrid(frame)
        for event in shown {
            let lane = frame.yBand(event.kind == .transfer || event.kind == .prefetch ? 1 : 0)
            let laneHeight = lane.upper - lane.lower
            let rect = Rect(x: px(event.startMicroseconds), y: lane.lower + laneHeight * 0.2,
                            width: max(1, px(event.endMicroseconds) - px(event.startMicroseconds)), height: laneHeight * 0.6)
            switch event.kind {
            case .compute, .transfer, .prefetch:
                let color = event.kind == .compute ? Self.computeColor : event.kind == .prefetch ? Self.prefetchColor : Self.transferColor
                // A 1 px gap separates neighbouring bars unless that would wash out a thin bar.
                canvas.fill(Rect(x: rect.x, y: rect.y, width: rect.width >= 4 ? rect.width - 1 : rect.width, height: rect.height), color)
                let label = "L\(event.layer)"
                if canvas.measure(label, .annotation).width + 6 <= rect.width {
                    canvas.text(label, at: Point(x: rect.midX, y: rect.midY), .annotation, color: color.contrastingText)
                }
            case .stall:
                canvas.hatch(rect, Self.stallColor, background: Self.stallColor.withAlpha(0.25))
            }
        }
        drawCacheLane(shown, px: px, frame: frame, on: canvas)
        canvas.drawAxes(frame)
    }

    /// The legend: the prefetch entry only when the timeline has prefetches, so a policy that prefetches
    /// nothing shows no colour it never uses (and its transfers keep the plain name "expert transfer").
    var legend: [LegendEntry] {
        let prefetches = events.contains { $0.kind == .prefetch && $0.isDrawable }
        return [LegendEntry(label: "compute", swatch: .box(Self.computeColor)),
                LegendEntry(label: prefetches ? "expert transfer (a miss)" : "expert transfer", swatch: .box(Self.transferColor))]
            + (prefetches ? [LegendEntry(label: "prefetch (read ahead for a later layer)", swatch: .box(Self.prefetchColor))] : [])
            + [LegendEntry(label: "stall (compute waits for a transfer)", swatch: .hatched(Self.stallColor)),
               LegendEntry(label: "cache hit (1 expert)", swatch: .box(Self.hitColor)),
               LegendEntry(label: "cache miss (1 expert)", swatch: .box(Self.missColor))]
    }

    /// Alternating light bands behind each token's time span, with "token N" along the top when it fits (a
    /// bare number there would read as a layer or a time).
    private func drawTokenBands(_ events: [TimelineEvent], px: (Double) -> Double, frame: PlotFrame, on canvas: ChartCanvas) {
        let spans = Dictionary(grouping: events, by: \.token).sorted { $0.key < $1.key }.map { token, tokenEvents in
            (token: token, start: px(tokenEvents.map(\.startMicroseconds).min()!), end: px(tokenEvents.map(\.endMicroseconds).max()!))
        }
        for (index, span) in spans.enumerated() where index % 2 == 1 {
            canvas.fill(Rect(x: span.start, y: frame.plot.minY, width: span.end - span.start, height: frame.plot.height), Color(hex: 0xF0F0F0))
        }
        // Labels after every band (a token's transfers may run into the next token's span, whose band would
        // cover them), centred on the part of the span before the next token starts.
        var previousLabelEnd = -Double.infinity
        for (index, span) in spans.enumerated() {
            let start = span.start, end = index + 1 < spans.count ? min(span.end, spans[index + 1].start) : span.end
            let label = "token \(span.token)", width = canvas.measure(label, .annotation).width
            if width + 8 <= end - start, (start + end) / 2 - width / 2 >= previousLabelEnd + 4 * canvas.unit {
                canvas.text(label, at: Point(x: (start + end) / 2, y: frame.plot.minY + 4 * canvas.unit), .annotation,
                            color: .mutedInk, anchor: .top)
                previousLabelEnd = (start + end) / 2 + width / 2
            }
        }
    }

    /// One column of squares per event that carries hits or misses: misses at the bottom, hits above.
    private func drawCacheLane(_ events: [TimelineEvent], px: (Double) -> Double, frame: PlotFrame, on canvas: ChartCanvas) {
        let lane = frame.yBand(2)
        let laneHeight = lane.upper - lane.lower
        let tallest = events.map { max(0, $0.hits) + max(0, $0.misses) }.max() ?? 0
        guard tallest > 0 else { return }
        let side = min(laneHeight * 0.6 / Double(tallest), 30 * canvas.unit)
        let bottom = (lane.lower + lane.upper) / 2 + side * Double(tallest) / 2
        for event in events where event.hits > 0 || event.misses > 0 {
            let start = px(event.startMicroseconds), end = px(event.endMicroseconds)
            let width = max(2, min(side, end - start - 1))
            let x = (start + end) / 2 - width / 2
            let squares = Array(repeating: Self.missColor, count: max(0, event.misses))
                + Array(repeating: Self.hitColor, count: max(0, event.hits))
            for (i, color) in squares.enumerated() {
                let y = bottom - Double(i + 1) * side
                canvas.fill(Rect(x: x, y: y + 1, width: width, height: side - 2), color)
            }
        }
    }
}
