import Charts
import Offloading
import Quantization
import Tracing

/// The offloading charts, built from what the simulator produced: a sweep's summaries, a trace's layer
/// records, memory plans. Used by the lessons' experiments and by `mixtral-lab chart`, `trace --charts`
/// and `plan --charts`, so the same data always gives the same picture.
public enum OffloadingCharts {
    /// Hit rate (y, 0–1) against cache size in experts per layer (x), one line per policy, from a sweep.
    ///
    /// y is `OffloadingSummary.hitRate`: hits / expert accesses over the whole run, prefill included (the
    /// caches start cold, so a short run's prefill pulls the rate down). Policies appear in the order of
    /// their first summary. `resident` is left out: it starts with every expert loaded (hit rate 1 by
    /// construction) while the others start cold, so its point would not compare like with like.
    public static func hitRate(_ sweep: [OffloadingSummary], metadata: PNGMetadata) -> LineChart {
        var order: [String] = []
        var points: [String: [(x: Double, y: Double)]] = [:]
        for summary in sweep where summary.policy != PolicySpec.resident.description {
            if points[summary.policy] == nil { order.append(summary.policy) }
            points[summary.policy, default: []].append((Double(summary.cacheExperts), summary.hitRate))
        }
        let series = order.map { policy in
            let line = points[policy]!.sorted { $0.x < $1.x }
            return LineSeries(name: policy, x: line.map(\.x), y: line.map(\.y))
        }
        return LineChart(metadata: metadata, series: series, xLabel: "expert cache size (experts per MoE layer)",
                         yLabel: "hit rate (hits / expert accesses, prefill + decode)", yRange: 0...1)
    }

    /// Compute and transfer lanes per token and layer, stalls highlighted, hits/misses marked, from a trace's
    /// layer records (first `maxTokens` forward calls after the prompt, so the picture stays readable).
    ///
    /// Per decode record with a timeline: a compute bar for attention, a stall bar while the layer waits
    /// for its experts (only when it waits), a compute bar for the experts, and one transfer bar per expert
    /// transfer the layer issued (labelled with the receiving layer), a prefetch (`TransferRecord.Kind`) told
    /// apart from a demand transfer. The record's hits and misses ride on
    /// the longest of the layer's three bars. Events are keyed by the token's absolute position (`LayerRecord.position`), as in the trace
    /// files. The prefill is left out: its one long forward call would squeeze the decode steps to slivers.
    public static func transfers(_ records: [LayerRecord], metadata: PNGMetadata, maxTokens: Int = 6) -> TransferTimeline {
        let decode = records.filter { $0.phase == .decode && $0.timeline != nil }
        var positions: [Int] = []
        for record in decode where !positions.contains(record.position) {
            positions.append(record.position)
            if positions.count == maxTokens { break }
        }
        let shown = Set(positions)
        var events: [TimelineEvent] = []
        for record in decode where shown.contains(record.position) {
            let timeline = record.timeline!
            let token = record.position, layer = record.layer
            var layerEvents: [TimelineEvent] = []
            var t = timeline.startUs
            for (kind, duration) in [(TimelineEvent.Kind.compute, timeline.attentionUs), (.stall, timeline.stallUs),
                                     (.compute, timeline.expertsUs)] where kind == .compute || duration > 0 {
                layerEvents.append(TimelineEvent(token: token, layer: layer, kind: kind, startMicroseconds: t,
                                                 durationMicroseconds: duration))
                t += duration
            }
            // The hits and misses ride on the layer's longest bar, so their squares are wide enough to see.
            let widest = layerEvents.indices.max { layerEvents[$0].durationMicroseconds < layerEvents[$1].durationMicroseconds }!
            layerEvents[widest].hits = record.hits.count
            layerEvents[widest].misses = record.misses.count
            events += layerEvents
            for transfer in timeline.transfers {
                events.append(TimelineEvent(token: token, layer: transfer.layer, kind: transfer.kind == .prefetch ? .prefetch : .transfer,
                                            startMicroseconds: transfer.startUs, durationMicroseconds: transfer.durationUs))
            }
        }
        return TransferTimeline(metadata: metadata, events: events)
    }

    /// Stacked bytes per tensor class for each precision mix, against the RAM/VRAM lines.
    ///
    /// Bars: attention (every RMSNorm included), experts, router, embedding, LM head (`ModelFootprint.bytesByClass`)
    /// and the KV cache. Lines, from the first plan's machine: the fast tier's capacity ("GPU memory"),
    /// what is usable after the reserve ("usable"; a bar above it needs offloading), and usable fast plus
    /// slow tier ("usable + host RAM"; a bar above it cannot run at all) when that is at most twice the tallest bar (an SSD of hundreds of GiB would
    /// flatten every bar).
    public static func memoryPlan(_ plans: [(mix: String, plan: MemoryPlan)], metadata: PNGMetadata) -> MemoryPlanChart {
        let classes: [(name: String, bytes: (MemoryPlan) -> Int)] = [
            ("attention + norms", { ($0.footprint.bytesByClass[.attention] ?? 0) + $0.footprint.finalNormBytes }),
            ("experts", { $0.footprint.bytesByClass[.experts] ?? 0 }),
            ("router", { $0.footprint.bytesByClass[.router] ?? 0 }),
            ("embedding", { $0.footprint.bytesByClass[.embedding] ?? 0 }),
            ("LM head", { $0.footprint.bytesByClass[.head] ?? 0 }),
            ("KV cache (\(plans.first?.plan.contextTokens ?? 0) positions)", { $0.kvCacheBytes }),
        ]
        let series = classes.map { tensorClass in
            BarSeries(name: tensorClass.name, values: plans.map { Double(tensorClass.bytes($0.plan)) })
        }
        var limits: [MemoryLimit] = []
        if let plan = plans.first?.plan {
            let hardware = plan.cost.hardware
            let fast = hardware.fastTier ?? "fast tier", slow = hardware.slowTier ?? "slow tier"
            limits.append(MemoryLimit(name: fast, bytes: Double(plan.fastBytes + plan.reserveBytes)))
            if plan.reserveBytes > 0 {
                limits.append(MemoryLimit(name: "usable", bytes: Double(plan.fastBytes)))
            }
            let tallest = plans.map { p in classes.map { Double($0.bytes(p.plan)) }.reduce(0, +) }.max() ?? 0
            let both = Double(plan.fastBytes + plan.slowBytes)
            if both <= 2 * tallest {
                limits.append(MemoryLimit(name: "\(plan.reserveBytes > 0 ? "usable" : fast) + \(slow)", bytes: both))
            }
        }
        return MemoryPlanChart(metadata: metadata, mixes: plans.map(\.mix), tensorClasses: series, limits: limits)
    }

    /// A short name for a precision mix on a chart axis: "q4", or "int8, experts q4" when every class but
    /// the experts and the (always fp32) router shares one precision; else the full spec.
    public static func mixLabel(_ spec: PrecisionSpec) -> String {
        let description = spec.description
        guard description.contains("=") else { return description }
        let others = Set(TensorClass.allCases.filter { $0 != .experts && $0 != .router }.map { spec.precision(for: $0) })
        guard others.count == 1, spec.precision(for: .router) == .fp32 else { return description }
        return "\(others.first!.rawValue), experts \(spec.precision(for: .experts).rawValue)"
    }
}
