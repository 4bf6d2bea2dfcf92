import Testing
import Foundation
import Charts
import Offloading
import Quantization
import Tracing
@testable import Reports

/// The offloading chart builders and the step-through narration, on hand-made sweeps and records and on
/// records from the simulator itself.
struct OffloadingChartsTests {
    let metadata = PNGMetadata(title: "test", description: "test", source: "hand-made")

    func summary(_ policy: String, _ slots: Int, hits: Int, misses: Int) -> OffloadingSummary {
        var s = OffloadingSummary(policy: policy, slots: [slots], cacheBytes: 0, hardware: "colab-t4")
        s.hits = hits
        s.misses = misses
        s.hitRate = Double(hits) / Double(hits + misses)
        return s
    }

    @Test func hitRateHasOneLinePerCachingPolicySortedBySize() {
        let sweep = [summary("resident", 8, hits: 10, misses: 0),
                     summary("lru", 2, hits: 4, misses: 6), summary("lru", 1, hits: 1, misses: 9),
                     summary("optimal", 1, hits: 3, misses: 7), summary("optimal", 2, hits: 6, misses: 4)]
        let chart = OffloadingCharts.hitRate(sweep, metadata: metadata)
        #expect(chart.series.map(\.name) == ["lru", "optimal"])
        #expect(chart.series[0].x == [1, 2])
        #expect(chart.series[0].y == [0.1, 0.4])
        #expect(chart.series[1].y == [0.3, 0.6])
        #expect(chart.yRange == 0...1)
    }

    /// A decode record at `position` and `layer` with a timeline: 10 µs attention, `stall` µs stall,
    /// 20 µs experts, one demand transfer per miss.
    func decodeRecord(position: Int, layer: Int, start: Double, hits: [Int], misses: [Int], stall: Double) -> LayerRecord {
        let transfers = misses.enumerated().map { i, e in
            TransferRecord(expert: e, layer: layer, kind: .demand, bytes: 1000, startUs: start + 10 + Double(i) * 5, durationUs: 5)
        }
        return LayerRecord(position: position, layer: layer, phase: .decode, routerLogits: [0, 0, 0, 0],
                           experts: hits + misses, weights: [0.5, 0.5], hits: hits, misses: misses,
                           bytesMoved: 1000 * misses.count, transferUs: 5 * Double(misses.count), stallUs: stall,
                           timeline: LayerTimeline(startUs: start, attentionUs: 10, stallUs: stall, expertsUs: 20, transfers: transfers))
    }

    /// A prefetch the layer issued is drawn as a prefetch, a demand transfer as a transfer.
    @Test func prefetchTransfersStayPrefetches() {
        var record = decodeRecord(position: 3, layer: 0, start: 100, hits: [1], misses: [2], stall: 0)
        record.timeline!.transfers.append(TransferRecord(expert: 5, layer: 1, kind: .prefetch, bytes: 1000, startUs: 120, durationUs: 5))
        let transfers = OffloadingCharts.transfers([record], metadata: metadata).events.filter { $0.kind != .compute && $0.kind != .stall }
        #expect(transfers.map(\.kind) == [.transfer, .prefetch])
        #expect(transfers.map(\.layer) == [0, 1])
    }

    @Test func transfersShowsTheFirstDecodeStepsOnly() {
        let prefill = LayerRecord(position: 0, layer: 0, phase: .prefill, routerLogits: [0, 0, 0, 0], experts: [0, 1],
                                  weights: [0.5, 0.5], misses: [0, 1],
                                  timeline: LayerTimeline(startUs: 0, attentionUs: 10, stallUs: 0, expertsUs: 20, transfers: []))
        var records = [prefill]
        for (step, position) in [3, 4, 5].enumerated() {
            let start = 100 * Double(step + 1)
            records.append(decodeRecord(position: position, layer: 0, start: start, hits: [1], misses: [2], stall: 30))
            records.append(decodeRecord(position: position, layer: 1, start: start + 60, hits: [0, 3], misses: [], stall: 0))
        }
        let chart = OffloadingCharts.transfers(records, metadata: metadata, maxTokens: 2)
        #expect(Set(chart.events.map(\.token)) == [3, 4])
        // Per step: layer 0 = attention, stall, experts, one transfer; layer 1 = attention, experts.
        #expect(chart.events.count == 2 * (4 + 2))
        #expect(chart.events.filter { $0.kind == .stall }.count == 2)
        #expect(chart.events.filter { $0.kind == .transfer }.count == 2)
        // Hits and misses ride on one bar per layer: the stall (30 µs) in layer 0, the experts (20 µs) in layer 1.
        let marked = chart.events.filter { $0.hits + $0.misses > 0 }
        #expect(marked.count == 4)
        #expect(marked.filter { $0.layer == 0 }.allSatisfy { $0.kind == .stall && $0.hits == 1 && $0.misses == 1 })
        #expect(marked.filter { $0.layer == 1 }.allSatisfy { $0.kind == .compute && $0.hits == 2 && $0.durationMicroseconds == 20 })
    }

    @Test func memoryPlanStacksEveryClassAgainstTheMemoryLines() throws {
        let hardware = try HardwareProfile.named("colab-t4")
        let plans = try ["bf16", "q4"].map { spec in
            (mix: spec, plan: MemoryPlan(config: MixtralShapes.mixtral8x7B, precision: try PrecisionSpec(parsing: spec),
                                         hardware: hardware, reserveBytes: 1 << 30, contextTokens: 1024))
        }
        let chart = OffloadingCharts.memoryPlan(plans, metadata: metadata)
        #expect(chart.mixes == ["bf16", "q4"])
        #expect(chart.tensorClasses.count == 6)
        #expect(chart.tensorClasses.allSatisfy { $0.values.count == 2 })
        let experts = try #require(chart.tensorClasses.first { $0.name == "experts" })
        #expect(experts.values[0] > 3 * experts.values[1])
        let total = chart.tensorClasses.map { $0.values[1] }.reduce(0, +)
        #expect(total == Double(plans[1].plan.residentBytes + plans[1].plan.allExpertBytes))
        #expect(chart.limits.map(\.name) == ["GPU memory", "usable", "usable + host RAM"])
        #expect(chart.limits[0].bytes - chart.limits[1].bytes == Double(1 << 30))

        let laptop = OffloadingCharts.memoryPlan(
            [(mix: "q4", plan: MemoryPlan(config: MixtralShapes.mixtral8x7B, precision: PrecisionSpec(uniform: .q4),
                                          hardware: try HardwareProfile.named("laptop-16gb-nvme"), reserveBytes: 0, contextTokens: 1024))],
            metadata: metadata)
        // No reserve: no "usable" line; a 512 GB SSD is off the scale.
        #expect(laptop.limits.map(\.name) == ["RAM"])
    }

    @Test func mixLabelsAreShortWhenTheMixAllowsIt() throws {
        #expect(OffloadingCharts.mixLabel(PrecisionSpec(uniform: .q4)) == "q4")
        #expect(OffloadingCharts.mixLabel(try PrecisionSpec(parsing: "attn=int8,experts=nf4-dq,embed=int8,head=int8")) == "int8, experts nf4-dq")
        let mixed = try PrecisionSpec(parsing: "attn=int8,experts=q4,embed=fp32,head=int8")
        #expect(OffloadingCharts.mixLabel(mixed) == mixed.description)
    }

    @Test func narrationFollowsTheRecordsAndKeepsTotals() {
        let prefill = [0, 1, 2].map { p in
            LayerRecord(position: p, layer: 0, phase: .prefill, routerLogits: [0, 0, 0, 0], experts: [0, 1], weights: [0.6, 0.4],
                        misses: p == 0 ? [0, 1] : [], shared: p == 0 ? [] : [0, 1], bytesMoved: p == 0 ? 2072 : 0,
                        timeline: p == 0 ? LayerTimeline(startUs: 0, attentionUs: 1, stallUs: 4, expertsUs: 2, transfers: []) : nil)
        }
        var decode = decodeRecord(position: 3, layer: 0, start: 50, hits: [1], misses: [2], stall: 30)
        decode.evicted = [0]
        let tokens = [TokenRecord(position: 3, phase: .prefill, tokenId: 7, text: "a", top: [TokenProbability(id: 7, text: "a", probability: 0.5)],
                                  latencyUs: 8, stallUs: 4, endUs: 8),
                      TokenRecord(position: 4, phase: .decode, tokenId: 9, text: "\n", top: [TokenProbability(id: 4, text: "b", probability: 0.3),
                                                                                              TokenProbability(id: 9, text: "\n", probability: 0.2)],
                                  latencyUs: 1500, stallUs: 30, endUs: 1508)]
        let calls = ForwardCallRecords.split(layers: prefill + [decode], tokens: tokens)
        #expect(calls.count == 2)
        #expect(calls[0].stops.map { $0.count } == [3])
        #expect(calls[1].stops.map { $0.map(\.position) } == [[3]])

        var narrator = StepNarrator(numExperts: 4, topK: 2)
        let first = narrator.layerStop(calls[0].stops[0], residualError: nil)
        #expect(first.contains("positions 0–2 (prefill, 3 tokens in one batch)"))
        #expect(first.contains("e0 ×3 · e1 ×3"))
        #expect(first.contains("miss e0 e1"))
        #expect(!first.contains("error"))
        _ = narrator.tokenEnd(calls[0].token)
        let second = narrator.layerStop(calls[1].stops[0], residualError: 0.0123)
        // quitting here (review9 F23): the counts include this layer, the clock only the finished token
        #expect(narrator.totals.hasPrefix("1 token and 1 layer of the next · hits 1, misses 3 (hit rate 0.250) · 3.00 KiB moved · "),
                "\(narrator.totals)")
        #expect(narrator.totals.hasSuffix(" (to the end of the last finished token)"))
        #expect(second.contains("e1 0.50 · e2 0.50"))
        #expect(second.contains("hit e1 · miss e2 · evicted e0"))
        #expect(second.contains("stall 30.0 µs"))
        #expect(second.contains("= 0.0123"))
        let end = narrator.tokenEnd(calls[1].token)
        #expect(end.contains("token \"\\n\" (id 9, p 0.20; next best \"b\" 0.30) for position 4"))
        #expect(end.contains("2 tokens · hits 1, misses 3 (hit rate 0.250) · 3.00 KiB moved · 1.51 ms simulated, stall 34.0 µs"))
    }

    /// Records straight from the simulator: the narration's totals equal the simulator's summary, and the
    /// timeline has one transfer bar per transfer in the shown records.
    @Test func narrationAndTimelineAgreeWithTheSimulator() throws {
        let footprint = ModelFootprint(config: MixtralShapes.mixtral8x7B, precision: PrecisionSpec(uniform: .q4))
        let cost = CostModel(hardware: try HardwareProfile.named("colab-t4"), footprint: footprint)
        let records = CollectingTraceSink()
        let simulator = try OffloadingSimulator(policy: .lru, cacheExperts: 2, cost: cost, sinks: [records])
        let routes = [[0, 1], [1, 2], [2, 3], [0, 3], [4, 5], [5, 1]]
        for (index, experts) in routes.enumerated() {
            for layer in 0..<footprint.numLayers {
                let rotated = experts.map { ($0 + layer) % footprint.numExperts }
                simulator.process(LayerStep(layer: layer, phase: index == 0 ? .prefill : .decode, tokens: [
                    TokenRouting(position: index, routerLogits: Array(repeating: 0, count: 8), experts: rotated, weights: [0.5, 0.5]),
                ]))
            }
            simulator.finishForward()
        }
        var narrator = StepNarrator(numExperts: footprint.numExperts, topK: footprint.topK)
        for layer in records.layers { _ = narrator.layerStop([layer], residualError: nil) }
        #expect(narrator.hits == simulator.summary.hits)
        #expect(narrator.misses == simulator.summary.misses)
        #expect(narrator.bytesMoved == simulator.summary.bytesTransferred)

        let chart = OffloadingCharts.transfers(records.layers, metadata: metadata, maxTokens: 3)
        let shown = records.layers.filter { $0.phase == .decode && $0.position <= 3 }
        let transfers: Int = shown.map { $0.timeline!.transfers.count }.reduce(0, +)
        let accesses: Int = shown.map { $0.hits.count + $0.misses.count }.reduce(0, +)
        let marked: Int = chart.events.map { $0.hits + $0.misses }.reduce(0, +)
        #expect(transfers > 0)
        #expect(chart.events.filter { $0.kind == .transfer }.count == transfers)
        #expect(chart.events.filter { $0.kind == .stall }.allSatisfy { $0.durationMicroseconds > 0 })
        #expect(marked == accesses)
        let png = try renderPNGData(chart, width: 800, height: 500)
        #expect(try renderPNGData(chart, width: 800, height: 500) == png)
    }
}
