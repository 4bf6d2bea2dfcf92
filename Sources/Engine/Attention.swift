import Foundation
import Tensors

extension MixtralModel {
    /// Queries whose attention scores are computed together in prefill: a tile of 64 holds
    /// `64 · positions` scores (8 MiB at 32k positions).
    static let attentionQueryTile = 64

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

        // attention per head, for a tile of up to `queryTile` queries at once: scores = q·kᵀ/√headDim
        // against every key some query of the tile sees (one matrix product), each query's causal (and
        // sliding-window) softmax over its own keys with the others' probabilities set to 0, then the
        // probability-weighted sum of the values (a second product)
        let scale = 1 / Float(hd).squareRoot()
        let group = heads / kvHeads
        func firstVisible(_ position: Int) -> Int { config.slidingWindow.map { max(0, position - $0 + 1) } ?? 0 }
        let queryTile = min(n, Self.attentionQueryTile)
        let scores = ws.scores
        for t0 in stride(from: 0, to: n, by: queryTile) {
            let m = min(queryTile, n - t0)
            let first = firstVisible(start + t0), last = start + t0 + m - 1
            let keys = last - first + 1   // cache rows first…last: columns of `scores`
            if m == 1 {
                // one query (a decode step): it sees every key first…last; the heads are spread over the
                // kernel threads, each with its own row of `scores` (`queryAttention`)
                forEachRowRange(rows: heads, cols: 2 * keys * hd) { range in
                    for h in range {
                        let kvOffset = (h / group) * hd
                        queryAttention(ws.queries + t0 * qWidth + h * hd, keys: cacheKeys + first * kvWidth + kvOffset,
                                       values: cacheValues + first * kvWidth + kvOffset, count: keys, headDim: hd,
                                       rowStride: kvWidth, scale: scale, scores: scores + h * keys,
                                       into: ws.attention + t0 * qWidth + h * hd)
                    }
                }
                continue
            }
            for h in 0..<heads {
                let kvOffset = (h / group) * hd
                stridedMatMul(rows: m, cols: keys, inner: hd, alpha: scale, ws.queries + t0 * qWidth + h * hd, aStride: qWidth,
                              cacheKeys + first * kvWidth + kvOffset, bStride: kvWidth, transposedB: true,
                              into: scores, cStride: keys)
                for i in 0..<m {
                    let position = start + t0 + i
                    let row = scores + i * keys, from = firstVisible(position) - first, count = position - first - from + 1
                    row.update(repeating: 0, count: from)
                    softmax(row + from, count)
                    (row + from + count).update(repeating: 0, count: keys - from - count)
                }
                stridedMatMul(rows: m, cols: hd, inner: keys, scores, aStride: keys,
                              cacheValues + first * kvWidth + kvOffset, bStride: kvWidth, transposedB: false,
                              into: ws.attention + t0 * qWidth + h * hd, cStride: qWidth)
            }
        }

        // output projection
        weights.o.apply(batch: n, ws.attention, into: ws.projected)
    }
}
