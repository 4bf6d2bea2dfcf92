import Testing
import Engine
import Offloading
import Tracing

/// The simulation on a real (tiny, random-weight) Mixtral: bf16-8experts, 2 layers, 8 experts, top-2.
struct RealModelTests {
    let prompt = [1, 17, 42, 5, 88, 23, 61, 9]

    /// Greedy generation's logits after the prompt and after each of `steps` decode tokens.
    private func logits(model: MixtralModel, observe: ((Session) -> ForwardObserver)?, afterForward: () -> Void = {}) throws -> [[Float]] {
        let session = Session(model: model, capacity: 32)
        if let observe { session.observer = observe(session) }
        var all = [try model.forward(prompt, session: session)]
        afterForward()
        for _ in 0..<6 {
            let next = all.last!.indices.max { all.last![$0] < all.last![$1] }!
            all.append(try model.forward([next], session: session))
            afterForward()
        }
        return all
    }

    @Test(arguments: ["fp32", "bf16", "f16"])
    func policiesNeverChangeTheLogits(precision: String) throws {
        let model = try fixtureModel(precision: precision)
        let cost = CostModel(hardware: .colabT4, footprint: ModelFootprint(model: model))
        let reference = try logits(model: model, observe: nil)
        let online = PolicySpec.all(prefetch: PrefetchSettings(experts: 2, lookahead: 1)).filter { $0 != .optimal }
        for policy in online {
            for slots in [0, 1, 3, 8] {
                let simulator = try OffloadingSimulator(policy: policy, cacheExperts: slots, cost: cost)
                let observed = try logits(model: model, observe: { _ in
                    RoutingRecorder(model: model, lookahead: policy.lookahead) { simulator.process($0) }
                }, afterForward: { simulator.finishForward() })
                #expect(observed.map { $0.map(\.bitPattern) } == reference.map { $0.map(\.bitPattern) },
                        "\(policy) with \(slots) slots changed the logits at \(precision)")
                #expect(simulator.summary.accesses > 0)
            }
        }
    }

    @Test func replayMatchesTheLiveSimulation() throws {
        let model = try fixtureModel()
        let cost = CostModel(hardware: .laptop16GBNVMe, footprint: ModelFootprint(model: model))
        let policy = PolicySpec.lruPrefetch(PrefetchSettings(experts: 2, lookahead: 1))
        let live = try OffloadingSimulator(policy: policy, cacheExperts: 3, cost: cost)
        _ = try logits(model: model, observe: { _ in RoutingRecorder(model: model, lookahead: 1) { live.process($0) } },
                       afterForward: { live.finishForward() })
        let run = try RecordedRun.record(model: model, prompt: prompt, maxTokens: 7, lookahead: 1)
        #expect(run.forwards.count == 7)
        let replayed = try run.simulate(policy: policy, cacheExperts: 3, cost: cost)
        #expect(replayed == live.summary)
        #expect(replayed.prefetched > 0)
    }

    @Test func optimalIsTheFloorOnRealRouting() throws {
        let model = try fixtureModel()
        let cost = CostModel(hardware: .colabT4, footprint: ModelFootprint(model: model))
        let run = try RecordedRun.record(model: model, prompt: prompt, maxTokens: 40, lookahead: 2)
        let policies = PolicySpec.all(prefetch: PrefetchSettings(experts: 2, lookahead: 2)).filter { $0 != .resident }
        let results = try run.sweep(policies: policies, cacheSizes: Array(1...8), cost: cost)
        #expect(results.count == policies.count * 8)
        for size in 1...8 {
            let atSize = results.filter { $0.cacheExperts == size }
            let optimal = atSize.first { $0.policy == "optimal" }!
            for other in atSize {
                // a prefetching policy may turn misses into prefetch hits; its transfers are misses + prefetches
                #expect(optimal.misses <= other.misses + other.prefetched, "\(other.policy) at \(size) slots")
            }
        }
        let full = results.filter { $0.cacheExperts == 8 && $0.policy == "lru" }[0]
        #expect(full.misses == 16, "with every slot, each of 2 × 8 experts is fetched once at most")
    }

    @Test func footprintUsesTheRealExpertSizes() throws {
        let model = try fixtureModel(precision: "bf16")
        let footprint = ModelFootprint(model: model)
        #expect(footprint.expertBytes == Array(repeating: Array(repeating: 3 * 48 * 32 * 2, count: 8), count: 2))
        #expect(footprint.expertBytes[1][5] == model.layers[1].experts[5].byteCount)
    }
}
