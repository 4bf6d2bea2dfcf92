import Tensors

extension MixtralModel {
    /// The sparse mixture-of-experts block (transformers `MixtralSparseMoeBlock`): router logits =
    /// router · x, top-k routing with renormalised weights, and for each token
    /// `Σ weightᵢ · w2(silu(w1·x) ⊙ (w3·x))` over its chosen experts.
    ///
    /// Reads `ws.normed [n, hidden]`; writes `ws.projected [n, hidden]`. Each expert runs once on the
    /// batch of tokens routed to it (a matrix–matrix product in prefill, matrix–vector in decode).
    /// The observer, if any, sees every routing decision before the experts run; a layer whose experts are
    /// streamed asks its `ExpertProvider` for each expert (`ExpertProvider` documents the call order).
    func mixtureOfExperts(layer l: Int, weights: DecoderLayer, tokens n: Int, start: Int,
                          observer: ForwardObserver?, ws: Workspace) throws {
        let hidden = config.hiddenSize, numExperts = config.numExperts, k = config.numExpertsPerToken

        // router logits [n, numExperts] and top-k routing
        weights.router.apply(batch: n, ws.normed, into: ws.routerLogits)
        for t in 0..<n {
            routeTopK(logits: ws.routerLogits + t * numExperts, numExperts: numExperts, k: k,
                      probabilities: ws.probabilities, experts: ws.chosen + t * k, weights: ws.chosenWeights + t * k)
            if let observer {
                observer.routed(RoutingDecision(
                    layer: l, position: start + t,
                    routerLogits: Array(UnsafeBufferPointer(start: ws.routerLogits + t * numExperts, count: numExperts)),
                    experts: Array(UnsafeBufferPointer(start: ws.chosen + t * k, count: k)),
                    weights: Array(UnsafeBufferPointer(start: ws.chosenWeights + t * k, count: k)),
                    routerInput: Array(UnsafeBufferPointer(start: ws.normed + t * hidden, count: hidden))))
            }
        }

        try weights.expertProvider?.layerRouted(model: self, layer: l, tokens: n, chosen: ws.chosen,
                                            routerInput: ws.normed, firstPosition: start)

        // every expert on the rows routed to it, outputs added with their routing weights
        ws.projected.update(repeating: 0, count: n * hidden)
        for e in 0..<numExperts {
            var rows = 0
            for t in 0..<n {
                for slot in 0..<k where ws.chosen[t * k + slot] == e {
                    ws.expertRows[rows] = t
                    ws.expertRowWeights[rows] = ws.chosenWeights[t * k + slot]
                    rows += 1
                }
            }
            if rows == 0 { continue }
            for r in 0..<rows {
                (ws.expertInput + r * hidden).update(from: ws.normed + ws.expertRows[r] * hidden, count: hidden)
            }
            let expert = try weights.expertProvider?.expert(layer: l, e) ?? weights.experts[e]
            expert.w1.apply(batch: rows, ws.expertInput, into: ws.gate)
            expert.w3.apply(batch: rows, ws.expertInput, into: ws.up)
            siluMultiply(ws.gate, ws.up, rows * config.intermediateSize)
            expert.w2.apply(batch: rows, ws.gate, into: ws.expertOutput)
            for r in 0..<rows {
                addScaled(ws.expertOutput + r * hidden, ws.expertRowWeights[r], into: ws.projected + ws.expertRows[r] * hidden, hidden)
            }
        }
    }
}
