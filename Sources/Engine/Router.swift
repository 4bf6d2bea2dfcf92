import Foundation
import Tensors

/// Top-k routing as transformers' `MixtralSparseMoeBlock` does it (`modeling_mixtral.py`): softmax of the
/// raw router logits over all experts in fp32, keep the k largest probabilities, renormalise them to sum 1.
/// Ties go to the lower expert index.
///
/// - Parameters:
///   - logits: `[numExperts]` raw router logits.
///   - k: experts per token (`num_experts_per_tok`), `1…numExperts`.
///   - probabilities: `[numExperts]` scratch, overwritten with the softmax.
///   - experts: `[k]` output: chosen expert indices, best first.
///   - weights: `[k]` output: their renormalised weights (sum 1).
public func routeTopK(logits: UnsafePointer<Float>, numExperts n: Int, k: Int,
                      probabilities: UnsafeMutablePointer<Float>,
                      experts: UnsafeMutablePointer<Int>, weights: UnsafeMutablePointer<Float>) {
    probabilities.update(from: logits, count: n)
    softmax(probabilities, n)
    var sum: Float = 0
    for slot in 0..<k {
        var best = -1
        for i in 0..<n {
            var taken = false
            for s in 0..<slot where experts[s] == i { taken = true }
            if !taken && (best < 0 || probabilities[i] > probabilities[best]) { best = i }
        }
        experts[slot] = best
        sum += probabilities[best]
    }
    for slot in 0..<k { weights[slot] = probabilities[experts[slot]] / sum }
}

/// Array form of `routeTopK` for tests and explanations.
/// - Returns: chosen experts (best first) and their renormalised weights.
public func routeTopK(logits: [Float], k: Int) -> (experts: [Int], weights: [Float]) {
    let n = logits.count
    var probabilities = [Float](repeating: 0, count: n)
    var experts = [Int](repeating: 0, count: k)
    var weights = [Float](repeating: 0, count: k)
    logits.withUnsafeBufferPointer { l in
        routeTopK(logits: l.baseAddress!, numExperts: n, k: k, probabilities: &probabilities,
                  experts: &experts, weights: &weights)
    }
    return (experts, weights)
}

