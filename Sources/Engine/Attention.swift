import Foundation
import Tensors

extension MixtralModel {
    /// Grouped-query self-attention of `n` new tokens at positions `start…start+n−1` (transformers
    /// `MixtralAttention` with eager attention): q/k/v projections, RoPE, append k/v to the KV cache,
    /// causal softmax(q·kᵀ/√headDim)·v per head, o projection.
    ///
    /// Reads `ws.normed [n, hidden]`; writes `ws.projected [n, hidden]`. Query head `h` uses KV head
    /// `h / (heads / kvHeads)`. With a sliding window `w`, a query at position `p` sees keys
    /// `p−w+1…p` (w keys, itself included), as transformers' sliding-window mask does.
    func attend(layer l: Int, weights: AttentionWeights, tokens n: Int, start: Int, session: Session, ws: Workspace) {
        let hd = config.headDim, heads = config.numAttentionHeads, kvHeads = config.numKeyValueHeads
        let qWidth = shape.queryWidth, kvWidth = shape.keyValueWidth
        let cacheKeys = session.cache.keys[l], cacheValues = session.cache.values[l]

        // q, k, v projections
        weights.q.apply(batch: n, ws.normed, into: ws.queries)
        weights.k.apply(batch: n, ws.normed, into: ws.keys)
        weights.v.apply(batch: n, ws.normed, into: ws.values)

        // RoPE on queries and keys, then save k and v to the cache
        for t in 0..<n {
            rope.fill(position: start + t, cos: ws.cos, sin: ws.sin)
            rope.apply(ws.queries + t * qWidth, heads: heads, cos: ws.cos, sin: ws.sin)
            rope.apply(ws.keys + t * kvWidth, heads: kvHeads, cos: ws.cos, sin: ws.sin)
            (cacheKeys + (start + t) * kvWidth).update(from: ws.keys + t * kvWidth, count: kvWidth)
            (cacheValues + (start + t) * kvWidth).update(from: ws.values + t * kvWidth, count: kvWidth)
        }

        // attention per head: scores, causal (and sliding-window) softmax, weighted sum of values
        let scale = 1 / Float(hd).squareRoot()
        let group = heads / kvHeads
        for t in 0..<n {
            let position = start + t
            let first = config.slidingWindow.map { max(0, position - $0 + 1) } ?? 0
            let count = position - first + 1
            for h in 0..<heads {
                let query = ws.queries + t * qWidth + h * hd
                let kvOffset = (h / group) * hd
                // scores[j] = q · k_j / √headDim over the visible keys (rows of the cache, kvWidth apart)
                stridedMatVec(cacheKeys + first * kvWidth + kvOffset, rows: count, cols: hd, rowStride: kvWidth,
                              query, alpha: scale, into: ws.scores)
                softmax(ws.scores, count)
                // out = Σ_j p_j v_j
                stridedTransposedMatVec(cacheValues + first * kvWidth + kvOffset, rows: count, cols: hd, rowStride: kvWidth,
                                        ws.scores, into: ws.attention + t * qWidth + h * hd)
            }
        }

        // output projection
        weights.o.apply(batch: n, ws.attention, into: ws.projected)
    }
}
