import Tracing

extension RecordedRun {
    /// Replays the recorded routing through one policy and cache size on the simulated clock, streaming a
    /// `LayerRecord` per token × layer and a `TokenRecord` per produced token to `sinks`.
    /// - Parameters:
    ///   - slots: slots of each MoE layer `[numLayers]`.
    ///   - tokenText: a token's text for the token records (the tokenizer's decode of one id).
    /// - Returns: the run's totals.
    /// - Throws: `OffloadingError.invalidSetting` when the policy looks further ahead than the run recorded.
    public func simulate(policy: PolicySpec, slots: [Int], cost: CostModel, sinks: [TraceSink] = [],
                         tokenText: (Int) -> String = { "\($0)" }) throws -> OffloadingSummary {
        guard policy.lookahead <= lookahead else {
            throw OffloadingError.invalidSetting(flag: "--lookahead",
                reason: "policy \(policy) looks \(counted(policy.lookahead, "layer")) ahead but the run recorded \(lookahead)")
        }
        let simulator = try OffloadingSimulator(policy: policy, slots: slots, cost: cost,
                                                future: policy == .optimal ? futureAccesses : nil, sinks: sinks)
        for (index, forward) in forwards.enumerated() {
            for step in forward.steps { simulator.process(step) }
            let forwardCost = simulator.finishForward()
            guard !sinks.isEmpty else { continue }
            let record = TokenRecord(
                position: prompt.count + index, phase: forward.phase, tokenId: forward.next.id,
                text: tokenText(forward.next.id),
                top: forward.next.top.map { TokenProbability(id: $0.id, text: tokenText($0.id), probability: $0.probability) },
                latencyUs: forwardCost.latencyUs, stallUs: forwardCost.stallUs, endUs: forwardCost.endUs)
            for sink in sinks { sink.write(record) }
        }
        return simulator.summary
    }

    /// `simulate` with `cacheExperts` slots in every MoE layer.
    public func simulate(policy: PolicySpec, cacheExperts: Int, cost: CostModel, sinks: [TraceSink] = [],
                         tokenText: (Int) -> String = { "\($0)" }) throws -> OffloadingSummary {
        try simulate(policy: policy, slots: Array(repeating: cacheExperts, count: cost.footprint.numLayers), cost: cost,
                     sinks: sinks, tokenText: tokenText)
    }

    /// Every policy at every cache size on this one routing: `policies × cacheSizes` summaries, policy-major.
    /// - Throws: as `simulate`.
    public func sweep(policies: [PolicySpec], cacheSizes: [Int], cost: CostModel) throws -> [OffloadingSummary] {
        var results: [OffloadingSummary] = []
        for policy in policies {
            for size in cacheSizes {
                results.append(try simulate(policy: policy, cacheExperts: size, cost: cost))
            }
        }
        return results
    }
}
