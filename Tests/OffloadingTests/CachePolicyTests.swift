import Testing
import TestSupport
import Tensors
import Offloading
import Tracing

/// Policies on hand-made access sequences (one layer, top-1 unless stated).
struct CachePolicyTests {
    @Test func lruHitRefreshesRecency() throws {
        // 2 slots, accesses 0, 1, 0, 2: the hit on 0 makes 1 the least recently used.
        let (summary, records) = try run(.lru, slots: 2, forwards([[[0]], [[1]], [[0]], [[2]]]), footprint: tinyFootprint())
        #expect(records.map(\.hits) == [[], [], [0], []])
        #expect(records.map(\.misses) == [[0], [1], [], [2]])
        #expect(records[3].evicted == [1])
        #expect(summary.hits == 1 && summary.misses == 3 && summary.evictions == 1)
    }

    @Test func lfuEvictsLeastUsed() throws {
        // 0 is used three times, 1 once: bringing in 2 evicts 1 even though 0 is older.
        let (_, records) = try run(.lfu, slots: 2, forwards([[[0]], [[0]], [[0]], [[1]], [[2]]]), footprint: tinyFootprint())
        #expect(records[4].evicted == [1])
    }

    @Test func staticPinsThePromptsMostUsedExperts() throws {
        // prompt routes 3,3,3,1,1,2 (one token each): with 2 slots, 3 and 1 are pinned (2 streams through
        // without evicting them); decode uses of 0 and 2 never evict them, and they stay hits.
        let prompt: [[Int]] = [[3], [3], [3], [1], [1], [2]]
        let (summary, records) = try run(.staticPrompt, slots: 2, forwards([prompt, [[0]], [[2]], [[3]], [[1]]]),
                                         footprint: tinyFootprint())
        let decode = records.filter { $0.phase == .decode }
        #expect(decode.map(\.misses) == [[0], [2], [], []])
        #expect(decode.map(\.hits) == [[], [], [3], [1]])
        #expect(decode.allSatisfy { !$0.evicted.contains(3) && !$0.evicted.contains(1) })
        #expect(summary.decodeHits == 2)
    }

    @Test func residentNeverMisses() throws {
        let (summary, _) = try run(.resident, slots: 0, forwards([[[0], [1]], [[2]], [[3]]]), footprint: tinyFootprint())
        #expect(summary.misses == 0 && summary.bytesTransferred == 0 && summary.cacheExperts == 4)
    }

    @Test func optimalEvictsTheFarthestNextUse() throws {
        // 2 slots, 0 1 2 0 2 1: when 2 arrives, 0 is next used at step 3, 2 at 4, 1 at 5 → MIN evicts 1.
        // Misses 0, 1, 2, 1 = 4; LRU misses 0, 1, 2, 0, 1 = 5.
        let calls = forwards([[[0]], [[1]], [[2]], [[0]], [[2]], [[1]]])
        let (optimal, records) = try run(.optimal, slots: 2, calls, footprint: tinyFootprint())
        let (lru, _) = try run(.lru, slots: 2, calls, footprint: tinyFootprint())
        #expect(records[2].evicted == [1])
        #expect(optimal.misses == 4)
        #expect(lru.misses == 5)
    }

    @Test func optimalDoesNotStoreAnExpertNeededLaterThanEveryResident() throws {
        // 2 slots, 0 1 2 0 1: 2 is never used again, so MIN uses it without storing it (no eviction).
        let (optimal, records) = try run(.optimal, slots: 2, forwards([[[0]], [[1]], [[2]], [[0]], [[1]]]), footprint: tinyFootprint())
        #expect(records[2].misses == [2] && records[2].evicted.isEmpty)
        #expect(optimal.misses == 3)
    }

    @Test func optimalMissesAreAFloorOnRandomRouting() throws {
        var random = SplitMix64(seed: 42)
        for trial in 0..<60 {
            let experts = 4 + random.below(5), topK = 1 + random.below(2), layers = 1 + random.below(2)
            let footprint = tinyFootprint(layers: layers, experts: experts, topK: topK)
            let promptLength = 1 + random.below(6)
            var calls: [[[Int]]] = [(0..<promptLength).map { _ in random.distinct(topK, below: experts) }]
            for _ in 0..<(5 + random.below(30)) { calls.append([random.distinct(topK, below: experts)]) }
            let steps = forwards(calls, layers: layers)
            for slots in 0...experts {
                let (optimal, _) = try run(.optimal, slots: slots, steps, footprint: footprint)
                for policy in [PolicySpec.lru, .lfu, .staticPrompt] {
                    let (other, _) = try run(policy, slots: slots, steps, footprint: footprint)
                    #expect(optimal.misses <= other.misses,
                            "trial \(trial): \(policy) with \(slots) slots missed \(other.misses) < optimal \(optimal.misses)")
                }
            }
        }
    }

    @Test func policyNamesParse() throws {
        #expect(try PolicySpec.all(prefetch: PrefetchSettings(experts: 2, lookahead: 1)).map(\.description) + ["cpu-compute", "cheaper"] == PolicySpec.names)
        #expect(throws: OffloadingError.unknownPolicy("fifo", known: PolicySpec.names)) { try PolicySpec(name: "fifo") }
        #expect(throws: OffloadingError.needsRecordedRouting(policy: "optimal")) {
            try OffloadingSimulator(policy: .optimal, cacheExperts: 2, cost: CostModel(hardware: roundHardware, footprint: tinyFootprint()))
        }
    }
}
