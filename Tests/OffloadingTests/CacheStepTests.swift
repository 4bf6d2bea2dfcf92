import Testing
import Foundation
import Checkpoints
import Engine
import Quantization
import Tensors
import Tracing
@testable import Offloading
import TestSupport

/// The simulator and the real engine carry out the same cache decisions: on the same routing, policy and
/// slots they hit, miss, evict, read through the transient buffer and prefetch the same experts, step by
/// step, in the same order.
struct CacheStepTests {
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("cache-step") }

    /// An expert file of `layers` × `experts` fp32 experts (w1, w3 `[4, 8]`, w2 `[8, 4]`), every weight of
    /// expert e of layer l equal to `100·l + e`, so a read into the wrong slot shows.
    private func source(layers: Int, experts: Int) throws -> ExpertSource {
        let w1 = ProjectionLayout(format: .fp32, rows: 4, cols: 8), w2 = ProjectionLayout(format: .fp32, rows: 8, cols: 4)
        let layout = ExpertLayout(w1: w1, w2: w2, w3: w1)
        var bytes: [Float] = []
        var locations: [[[ExpertSource.Location]]] = []
        for l in 0..<layers {
            var layer: [[ExpertSource.Location]] = []
            for e in 0..<experts {
                var projections: [ExpertSource.Location] = []
                for projection in layout.projections {
                    projections.append(ExpertSource.Location(file: 0, offset: bytes.count * 4))
                    bytes += Array(repeating: Float(100 * l + e), count: projection.weights)
                }
                layer.append(projections)
            }
            locations.append(layer)
        }
        let url = scratch.url.appendingPathComponent(UUID().uuidString)
        try bytes.withUnsafeBytes { Data($0) }.write(to: url)
        return ExpertSource(files: [try ExpertFile(path: url.path)], layout: layout, locations: locations, description: url.path)
    }

    /// A random run: a prefill of `promptTokens` tokens, then `decodeTokens` decode steps, top-k of `experts`
    /// per token, routed independently at every layer.
    private func randomRouting(seed: UInt64, layers: Int, experts: Int, topK: Int, promptTokens: Int,
                               decodeTokens: Int) -> [[LayerStep]] {
        var random = SplitMix64(seed: seed)
        var calls: [[LayerStep]] = []
        var position = 0
        for c in 0...decodeTokens {
            let n = c == 0 ? promptTokens : 1
            calls.append((0..<layers).map { l in
                LayerStep(layer: l, phase: c == 0 ? .prefill : .decode, tokens: (0..<n).map { t in
                    TokenRouting(position: position + t, routerLogits: [], experts: random.distinct(topK, below: experts),
                                 weights: Array(repeating: 1 / Float(topK), count: topK))
                })
            })
            position += n
        }
        return calls
    }

    /// The real engine's reads on `calls`, driven as the forward pass drives it: `layerRouted`, then each
    /// distinct expert in ascending index. Checks each expert handed over holds that expert's weights.
    private func realReads(_ calls: [[LayerStep]], policy: PolicySpec, slots: [Int], source: ExpertSource,
                           model: MixtralModel) throws -> ([RealReads], DiskOffloadingSummary, [QueuedRead]) {
        let topK = calls[0][0].tokens[0].experts.count
        let provider = try DiskExpertProvider(source: source, policy: policy, topK: topK)
        try provider.allocateSlots(LayerSlots(slots))
        var reads: [RealReads] = []
        var queued: [QueuedRead] = []
        provider.onStep = { _, _, _, step in reads.append(step) }
        provider.onReadQueued = { queued.append($0) }
        let routerInput = [Float](repeating: 0, count: model.config.hiddenSize)
        for call in calls {
            for step in call {
                let chosen = step.tokens.flatMap(\.experts)
                try provider.layerRouted(model: model, layer: step.layer, tokens: step.tokens.count, chosen: chosen,
                                         routerInput: routerInput, firstPosition: step.tokens[0].position)
                for e in Set(chosen).sorted() {
                    let weights = try provider.expert(layer: step.layer, e)
                    let first = (weights.w1 as! Matrix).values[0]
                    #expect(first == Float(100 * step.layer + e), "layer \(step.layer) expert \(e) read the wrong weights")
                }
            }
        }
        let summary = provider.finish()
        return (reads, summary, queued)
    }

    /// The simulator's decisions on `calls`.
    private func simulated(_ calls: [[LayerStep]], policy: PolicySpec, slots: [Int], footprint: ModelFootprint)
        throws -> ([CacheStep], OffloadingSummary, [QueuedRead]) {
        let simulator = try OffloadingSimulator(policy: policy, slots: slots, cost: CostModel(hardware: roundHardware, footprint: footprint))
        var steps: [CacheStep] = []
        var queued: [QueuedRead] = []
        simulator.onReadQueued = { queued.append($0) }
        for call in calls {
            for step in call { steps.append(simulator.process(step)) }
            simulator.finishForward()
        }
        return (steps, simulator.summary, queued)
    }

    /// Compares the two step by step and in total, and the reads each queued: the same reads in the same
    /// order, each queued at the same point of the forward pass (the simulator's clock for the transient
    /// buffers is the engine's).
    private func expectSame(_ simulated: [CacheStep], _ real: [RealReads], _ s: OffloadingSummary, _ r: DiskOffloadingSummary,
                            _ simulatedQueue: [QueuedRead], _ realQueue: [QueuedRead], _ label: String) {
        #expect(simulatedQueue.count == realQueue.count, "\(label): reads queued")
        if let i = zip(simulatedQueue, realQueue).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            Issue.record("\(label): read \(i) queued as \(simulatedQueue[i]) in the simulator, \(realQueue[i]) in the engine")
        }
        #expect(simulated.count == real.count, "\(label): step count")
        for (index, (sim, reads)) in zip(simulated, real).enumerated() {
            let same = sim.hits == reads.hits && sim.misses == reads.misses && sim.transientMisses == reads.transient
                && sim.evicted == reads.evicted && sim.prefetched == reads.prefetched && sim.prefetchHits == reads.prefetchHits
            #expect(same, "\(label): step \(index) (layer \(sim.layer)) simulated \(sim.events), real \(reads)")
            if !same { return }
        }
        #expect(s.hits == r.hits && s.misses == r.misses && s.decodeHits == r.decodeHits && s.decodeMisses == r.decodeMisses, "\(label)")
        #expect(s.evictions == r.evictions && s.transientMisses == r.transientMisses, "\(label)")
        #expect(s.prefetched == r.prefetched && s.prefetchHits == r.prefetchHits && s.prefetchWasted == r.prefetchWasted
                && s.prefetchCancelled == r.prefetchCancelled, "\(label)")
        #expect(s.cacheExperts == r.slotsPerLayer && s.extraSlotLayers == r.extraSlotLayers, "\(label)")
    }

    @Test(arguments: ["lru", "lfu", "static"])
    func randomRoutingGivesTheSameEventsInSimulatorAndEngine(policyName: String) throws {
        let policy = try PolicySpec(name: policyName)
        let model = try fixtureModel()
        let layers = 3, experts = 6, topK = 2
        let source = try source(layers: layers, experts: experts)
        let footprint = tinyFootprint(layers: layers, experts: experts, topK: topK)
        for seed in UInt64(1)...3 {
            let calls = randomRouting(seed: seed, layers: layers, experts: experts, topK: topK, promptTokens: 1 + Int(seed) * 3,
                                      decodeTokens: 24)
            for perLayer in 1...experts {
                // equal slots, and one slot more in layer 0 (a budget's remainder)
                for slots in [Array(repeating: perLayer, count: layers), [min(experts, perLayer + 1)] + Array(repeating: perLayer, count: layers - 1)] {
                    let (simSteps, simSummary, simQueue) = try simulated(calls, policy: policy, slots: slots, footprint: footprint)
                    let (realSteps, realSummary, realQueue) = try realReads(calls, policy: policy, slots: slots, source: source, model: model)
                    expectSame(simSteps, realSteps, simSummary, realSummary, simQueue, realQueue, "\(policy) seed \(seed) slots \(slots)")
                    // with one slot, a prompt of 7 or 10 tokens has transient reads that wait for the two buffers
                    if perLayer == 1 && seed >= 2 {
                        #expect(realQueue.contains { $0.kind == .transient && $0.afterExperts > 0 }, "\(policy) seed \(seed): no read waited for a buffer")
                    }
                    // the engine read every miss and nothing else (no prefetching policy here)
                    #expect(realSummary.bytesRead == realSummary.misses * source.layout.byteCount)
                }
            }
        }
    }

    /// A prompt long enough for the prefill to prefetch (`ExpertCache.prefillPrefetchTokens`): both queue the
    /// next layer's first experts as prefetches after each layer's demand reads, read for read; a shorter
    /// prompt queues none.
    @Test func aLongPromptPrefetchesTheNextLayersFirstExpertsInSimulatorAndEngine() throws {
        let policy = try PolicySpec(name: "lru+prefetch", prefetch: PrefetchSettings(experts: 2, lookahead: 1))
        let model = try fixtureModel()
        let layers = 3, experts = 8, topK = 2
        let threshold = ExpertCache.prefillPrefetchTokens(numExperts: experts, topK: topK)
        #expect(threshold == 17)
        let source = try source(layers: layers, experts: experts)
        let footprint = tinyFootprint(layers: layers, experts: experts, topK: topK)
        for (seed, promptTokens) in [(UInt64(1), threshold - 1), (2, threshold), (3, 31)] {
            let calls = randomRouting(seed: seed, layers: layers, experts: experts, topK: topK, promptTokens: promptTokens, decodeTokens: 0)
            for perLayer in 1...experts {
                let slots = [min(experts, perLayer + 1)] + Array(repeating: perLayer, count: layers - 1)
                let (simSteps, simSummary, simQueue) = try simulated(calls, policy: policy, slots: slots, footprint: footprint)
                let (realSteps, realSummary, realQueue) = try realReads(calls, policy: policy, slots: slots, source: source, model: model)
                expectSame(simSteps, realSteps, simSummary, realSummary, simQueue, realQueue, "prompt \(promptTokens) slots \(slots)")
                let prefetches = realQueue.filter { $0.kind == .prefetch }
                if promptTokens < threshold {
                    #expect(prefetches.isEmpty, "prompt \(promptTokens): \(prefetches)")
                } else {
                    // layers 1 and 2 each get their first min(2, slots) experts, read after the layer before's demand reads
                    let expected = (1..<layers).flatMap { l in (0..<min(2, slots[l])).map { QueuedRead(layer: l, expert: $0, kind: .prefetch, afterExperts: 0) } }
                    #expect(prefetches.map { QueuedRead(layer: $0.layer, expert: $0.expert, kind: $0.kind, afterExperts: 0) } == expected,
                            "prompt \(promptTokens) slots \(slots)")
                    #expect(realSummary.prefetchHits == expected.count, "prompt \(promptTokens) slots \(slots): every expert used")
                    #expect(realSummary.bytesRead == (realSummary.misses + expected.count) * source.layout.byteCount)
                }
            }
        }
    }

    /// Recorded routing: the fixture model runs with its experts streamed by the engine (as `trace
    /// --ram-budget` runs it), and the simulator replays the routing that run recorded.
    @Test(arguments: ["lru", "lfu", "static", "lru+prefetch"])
    func recordedRoutingGivesTheSameEventsInSimulatorAndEngine(policyName: String) throws {
        let policy = try PolicySpec(name: policyName, prefetch: PrefetchSettings(experts: 2, lookahead: 1))
        let checkpoint = try Checkpoint(directory: fixtureDirectory)
        let spec = PrecisionSpec(uniform: .fp32)
        let source = try ExpertSource.inPlace(checkpoint, precision: spec)
            ?? ExpertStore.openOrBuild(scratch.url.appendingPathComponent("store"), checkpoint: checkpoint, precision: spec)
        let c = checkpoint.config
        for perLayer in 1...c.numExperts {
            // 10 prompt tokens (no prefill prefetch) and 20 (the prefill prefetches: `ExpertCache.prefillPrefetchTokens`)
            for prompt in [[1, 17, 42, 5, 88, 23, 61, 9, 30, 7], [1, 17, 42, 5, 88, 23, 61, 9, 30, 7, 64, 3, 77, 12, 50, 91, 2, 38, 70, 15]] {
                let provider = try DiskExpertProvider(source: source, policy: policy, topK: c.numExpertsPerToken)
                let model = try MixtralModel(checkpoint: checkpoint, precision: spec, experts: .streamed(provider))
                try provider.allocateSlots(perLayer: perLayer)
                var reads: [RealReads] = []
                var realQueue: [QueuedRead] = []
                provider.onStep = { _, _, _, step in reads.append(step) }
                provider.onReadQueued = { realQueue.append($0) }
                let run = try RecordedRun.record(model: model, prompt: prompt, maxTokens: 24, lookahead: policy.lookahead)
                let real = provider.finish()
                let (simSteps, simSummary, simQueue) = try simulated(run.forwards.map(\.steps), policy: policy,
                                                                     slots: Array(repeating: perLayer, count: c.numHiddenLayers),
                                                                     footprint: ModelFootprint(model: model))
                expectSame(simSteps, reads, simSummary, real, simQueue, realQueue, "\(policy) slots \(perLayer) prompt \(prompt.count)")
                if policy.lookahead > 0 && perLayer < c.numExperts { #expect(real.prefetched > 0, "slots \(perLayer)") }
            }
        }
    }

    @Test func remainderOfABudgetGivesTheFirstLayersOneSlotMore() throws {
        // 4 layers of 8 experts, 8-byte experts: fixed 100 + 10 + 2 × 8; 3 slots per layer = 96; 31 bytes left
        // hold 3 more slots: layers 0, 1, 2 get 4
        let budget = try RAMBudget(budget: 126 + 3 * 32 + 31, residentBytes: 100, sessionBytes: 10, expertBytes: 8,
                                   numLayers: 4, numExperts: 8, topK: 2)
        #expect(budget.slotsPerLayer == 3 && budget.slots.counts == [4, 4, 4, 3])
        #expect(budget.usedBytes == 126 + 15 * 8 && budget.usedBytes <= budget.budget)
        #expect(budget.lines.contains { $0.contains("3 of 8 per layer, 4 in layers 0–2 (the budget's remainder)") })
        // every expert fits: no remainder slots beyond numExperts
        let all = try RAMBudget(budget: 1 << 20, residentBytes: 100, sessionBytes: 10, expertBytes: 8, numLayers: 4, numExperts: 8, topK: 2)
        #expect(all.slots.counts == [8, 8, 8, 8])
        #expect(LayerSlots([4, 3, 4, 4, 3]).layersWithMore == [0, 2, 3] && LayerSlots.ranges([0, 2, 3]) == "0, 2–3")
    }
}
