import Testing
import TestSupport
import Tensors
import Offloading
import Tracing

/// The simulator's rules: fetch counts, prefill streaming, bytes, prefetch accounting, the clock.
struct SimulatorTests {
    @Test func anExpertIsFetchedAtMostOncePerLayerPerForwardCall() throws {
        var random = SplitMix64(seed: 7)
        let footprint = tinyFootprint(layers: 2, experts: 8, topK: 2)
        var calls: [[[Int]]] = [(0..<12).map { _ in random.distinct(2, below: 8) }]
        for _ in 0..<20 { calls.append([random.distinct(2, below: 8)]) }
        for policy in [PolicySpec.lru, .lfu, .staticPrompt, .optimal] {
            for slots in 0...8 {
                let (_, records) = try run(policy, slots: slots, forwards(calls, layers: 2), footprint: footprint)
                var fetched: [String: Int] = [:]
                for record in records {
                    // the call is identified by its first position: prefill positions 0..<12 are one call
                    let call = record.position < 12 ? 0 : record.position
                    for e in record.misses { fetched["\(call)/\(record.layer)/\(e)", default: 0] += 1 }
                    #expect(Set(record.hits + record.misses + record.shared) == Set(record.experts))
                }
                #expect(fetched.values.allSatisfy { $0 == 1 }, "\(policy) \(slots) slots fetched an expert twice in one call")
            }
        }
    }

    @Test func aPromptLargerThanTheCacheStreamsThroughTheTransientBuffer() throws {
        // The prompt needs experts 0…5 (top-1), the cache holds 2: each is read once; 0 and 1 take the slots
        // and, as experts of the same step may not evict each other, 2…5 go through the transient buffer.
        // Decode: 5 misses and evicts the least recently used slot (0), 4 evicts 1, then 5 hits.
        let prompt: [[Int]] = [[0], [1], [2], [3], [4], [5], [0]]
        let (summary, records) = try run(.lru, slots: 2, forwards([prompt, [[5]], [[4]], [[5]]]),
                                         footprint: tinyFootprint(experts: 8))
        let prefill = records.filter { $0.phase == .prefill }
        #expect(prefill.flatMap(\.misses) == [0, 1, 2, 3, 4, 5])
        #expect(prefill.last!.shared == [0])
        #expect(summary.transientMisses == 4)
        let decode = records.filter { $0.phase == .decode }
        #expect(decode.map(\.hits) == [[], [], [5]] && decode.map(\.evicted) == [[0], [1], []])
        #expect(summary.decodeMisses == 2)
    }

    @Test func fewerSlotsThanTopKNeverEvictAnExpertOfTheSameStep() throws {
        // one slot, top-2: a token's second expert goes through the transient buffer every time
        let (summary, records) = try run(.lru, slots: 1, forwards([[[0, 1]], [[0, 1]], [[2, 0]]]),
                                         footprint: tinyFootprint(experts: 4, topK: 2))
        #expect(records.map(\.hits) == [[], [0], [0]])
        #expect(records.map(\.misses) == [[0, 1], [1], [2]])
        #expect(records.flatMap(\.evicted).isEmpty && summary.transientMisses == 3)
    }

    @Test func bytesAreTheSumOfTheFetchedExpertsRealSizes() throws {
        var random = SplitMix64(seed: 3)
        let footprint = tinyFootprint(layers: 2, experts: 6, topK: 2)
        var calls: [[[Int]]] = [(0..<5).map { _ in random.distinct(2, below: 6) }]
        for _ in 0..<15 { calls.append([random.distinct(2, below: 6)]) }
        let (summary, records) = try run(.lru, slots: 3, forwards(calls, layers: 2), footprint: footprint)
        let fromMisses = records.reduce(0) { sum, record in
            sum + record.misses.reduce(0) { $0 + footprint.expertBytes[record.layer][$1] }
        }
        let fromTransfers = records.compactMap(\.timeline).flatMap(\.transfers).reduce(0) { $0 + $1.bytes }
        #expect(summary.bytesTransferred == fromMisses)
        #expect(summary.bytesTransferred == fromTransfers)
        #expect(summary.bytesTransferred == records.reduce(0) { $0 + $1.bytesMoved })
        #expect(summary.bytesTransferred == summary.misses * 1536)
    }

    /// Two layers, top-1, one slot: a decode step at layer 0 guesses `guess` for layer 1, which then uses `used`.
    private func prefetchRun(guess: Int, used: Int) throws -> (OffloadingSummary, [LayerRecord]) {
        func logits(favoring e: Int) -> [Float] { (0..<4).map { $0 == e ? 5 : 0 } }
        let prefill = [LayerStep(layer: 0, phase: .prefill, tokens: [TokenRouting(position: 0, routerLogits: [], experts: [0], weights: [1])]),
                       LayerStep(layer: 1, phase: .prefill, tokens: [TokenRouting(position: 0, routerLogits: [], experts: [0], weights: [1])])]
        let decode = [LayerStep(layer: 0, phase: .decode, tokens: [TokenRouting(position: 1, routerLogits: [], experts: [0], weights: [1],
                                                                                 lookaheadLogits: [logits(favoring: guess)])]),
                      LayerStep(layer: 1, phase: .decode, tokens: [TokenRouting(position: 1, routerLogits: [], experts: [used], weights: [1])])]
        return try run(.lruPrefetch(PrefetchSettings(experts: 1, lookahead: 1)), slots: 1, [prefill, decode],
                       footprint: tinyFootprint(layers: 2))
    }

    @Test func aUsefulPrefetchIsAHit() throws {
        let (summary, records) = try prefetchRun(guess: 2, used: 2)
        #expect(records[2].prefetched == [LayerExpert(layer: 1, expert: 2)])
        #expect(records[3].hits == [2] && records[3].prefetchHits == [2] && records[3].misses.isEmpty)
        #expect(summary.prefetchHits == 1 && summary.prefetchWasted == 0)
    }

    @Test func aUselessPrefetchIsNotAHit() throws {
        let (summary, records) = try prefetchRun(guess: 3, used: 2)
        #expect(records[3].hits.isEmpty && records[3].prefetchHits.isEmpty && records[3].misses == [2])
        #expect(summary.prefetchHits == 0 && summary.prefetchWasted == 1)
        // the wasted prefetch still moved bytes
        #expect(summary.bytesTransferred == 2 * 1536 + 1536 + 1536)
    }

    @Test func aCancelledPrefetchIsNotAHit() throws {
        // Three layers, one slot, lookahead 2: layer 0 guesses 2 for layer 2; layer 1 then guesses 3 for
        // layer 2, which evicts the unused 2 (cancelled). Layer 2 uses 2: a miss.
        func logits(favoring e: Int) -> [Float] { (0..<4).map { $0 == e ? 5 : 0 } }
        func token(_ position: Int, _ expert: Int, _ guesses: [[Float]] = []) -> TokenRouting {
            TokenRouting(position: position, routerLogits: [], experts: [expert], weights: [1], lookaheadLogits: guesses)
        }
        let prefill = (0..<3).map { LayerStep(layer: $0, phase: .prefill, tokens: [token(0, 0)]) }
        let decode = [LayerStep(layer: 0, phase: .decode, tokens: [token(1, 0, [logits(favoring: 0), logits(favoring: 2)])]),
                      LayerStep(layer: 1, phase: .decode, tokens: [token(1, 0, [logits(favoring: 3)])]),
                      LayerStep(layer: 2, phase: .decode, tokens: [token(1, 2)])]
        let (summary, records) = try run(.lruPrefetch(PrefetchSettings(experts: 1, lookahead: 2)), slots: 1, [prefill, decode],
                                         footprint: tinyFootprint(layers: 3))
        #expect(records[4].prefetchEvicted == [LayerExpert(layer: 2, expert: 2)])
        #expect(records[5].misses == [2] && records[5].prefetchHits.isEmpty)
        #expect(summary.prefetchCancelled == 1 && summary.prefetchHits == 0 && summary.prefetchWasted == 1)
    }

    @Test func aDemandMissStallsForItsTransfer() throws {
        // one miss of 1536 bytes at 1 GB/s + 3 reads (one per projection) × 10 µs latency = 31.536 µs of stall
        let (summary, records) = try run(.lru, slots: 1, forwards([[[0]], [[1]]]), footprint: tinyFootprint())
        #expect(abs(records[1].stallUs - 31.536) < 1e-9)
        #expect(abs(records[1].timeline!.transfers[0].durationUs - 31.536) < 1e-9)
        #expect(abs(summary.decodeStallUs - 31.536) < 1e-9)
    }

    @Test func aTimelyPrefetchOverlapsCompute() throws {
        // With compute much slower than the link, a correct prefetch arrives before layer 1 needs it.
        let slowCompute = HardwareProfile(name: "slow", fastMemoryBytes: 1 << 30, slowMemoryBytes: 1 << 34, computeFlops: 1e6,
                                          memoryBandwidth: 1e6, linkBandwidth: 1e9, linkLatencyUs: 10)
        func logits(favoring e: Int) -> [Float] { (0..<4).map { $0 == e ? 5 : 0 } }
        let prefill = (0..<2).map { LayerStep(layer: $0, phase: .prefill, tokens: [TokenRouting(position: 0, routerLogits: [], experts: [0], weights: [1])]) }
        let decode = [LayerStep(layer: 0, phase: .decode, tokens: [TokenRouting(position: 1, routerLogits: [], experts: [0], weights: [1],
                                                                                 lookaheadLogits: [logits(favoring: 2)])]),
                      LayerStep(layer: 1, phase: .decode, tokens: [TokenRouting(position: 1, routerLogits: [], experts: [2], weights: [1])])]
        let (summary, records) = try run(.lruPrefetch(PrefetchSettings(experts: 1, lookahead: 1)), slots: 1, [prefill, decode],
                                         footprint: tinyFootprint(layers: 2), hardware: slowCompute)
        #expect(records[3].prefetchHits == [2] && records[3].stallUs == 0)
        #expect(summary.decodeStallUs == 0)
    }
}

/// The records add up to the forward call's latency and the run's totals.
struct AccountingTests {
    @Test func recordsSumToTheTokenLatencies() throws {
        var random = SplitMix64(seed: 11)
        let footprint = tinyFootprint(layers: 3, experts: 6, topK: 2)
        var calls: [[[Int]]] = [(0..<4).map { _ in random.distinct(2, below: 6) }]
        for _ in 0..<10 { calls.append([random.distinct(2, below: 6)]) }
        let sink = RecordingSink()
        let cost = CostModel(hardware: roundHardware, footprint: footprint)
        let simulator = try OffloadingSimulator(policy: .lru, cacheExperts: 2, cost: cost, sinks: [sink])
        var latencies: [Double] = []
        for call in forwards(calls, layers: 3) {
            for step in call { simulator.process(step) }
            latencies.append(simulator.finishForward().latencyUs)
        }
        var offset = 0
        for (c, call) in calls.enumerated() {
            let records = sink.layers[offset..<(offset + 3 * call.count)]
            offset += 3 * call.count
            let sum = records.reduce(0) { $0 + $1.computeUs + $1.stallUs } + cost.headUs
            #expect(abs(sum - latencies[c]) < 1e-6, "call \(c)")
        }
        let summary = simulator.summary
        #expect(abs(summary.prefillUs + summary.decodeUs - latencies.reduce(0, +)) < 1e-6)
        #expect(summary.decodeTokens == calls.count - 1)
        #expect(abs(summary.tokensPerSecondEst - Double(summary.decodeTokens) / (summary.decodeUs / 1e6)) < 1e-9)
    }
}
