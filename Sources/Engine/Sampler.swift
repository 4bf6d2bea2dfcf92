import Foundation
import Tensors

/// Chooses the next token from logits: greedy (temperature 0) or sampled with temperature, top-k and
/// top-p (nucleus) filtering, in that order, as transformers' logits warpers apply them.
public struct Sampler {
    /// 0 = greedy (argmax; ties go to the lower id).
    public var temperature: Float
    /// Keep only the k most likely tokens (0 = no limit).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches p (1 = no limit).
    public var topP: Float
    private var random: SplitMix64

    /// - Parameter seed: same seed, same choices.
    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.random = SplitMix64(seed: seed)
    }

    /// Picks a token id from `[vocab]` logits.
    public mutating func next(logits: ArraySlice<Float>) -> Int {
        let base = logits.startIndex
        if temperature <= 0 {
            var best = base
            for i in logits.indices where logits[i] > logits[best] { best = i }
            return best - base
        }
        // Candidates sorted by logit (stable: lower id first on ties), then top-k, softmax, top-p.
        var order = Array(0..<logits.count)
        order.sort { logits[base + $0] > logits[base + $1] || (logits[base + $0] == logits[base + $1] && $0 < $1) }
        if topK > 0 && topK < order.count { order.removeSubrange(topK...) }
        let maxLogit = logits[base + order[0]]
        var weights = order.map { Double(expf((logits[base + $0] - maxLogit) / temperature)) }
        let total = weights.reduce(0, +)
        weights = weights.map { $0 / total }
        if topP < 1 {
            var cumulative = 0.0
            var keep = 0
            while keep < weights.count { cumulative += weights[keep]; keep += 1; if cumulative >= Double(topP) { break } }
            order.removeSubrange(keep...)
            weights.removeSubrange(keep...)
        }
        let draw = random.nextUnit() * weights.reduce(0, +)
        var cumulative = 0.0
        for (i, w) in weights.enumerated() {
            cumulative += w
            if draw < cumulative { return order[i] }
        }
        return order[order.count - 1]
    }
}
