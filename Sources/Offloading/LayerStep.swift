import Tracing

/// One token's routing at one MoE layer, as the offloading simulation replays it.
public struct TokenRouting: Sendable, Equatable {
    /// Absolute position of the token.
    public var position: Int
    /// Raw router logits `[numExperts]`.
    public var routerLogits: [Float]
    /// The top-k experts, best first, and their renormalised weights.
    public var experts: [Int]
    public var weights: [Float]
    /// Speculative router logits `[lookahead][numExperts]`: entry d is layer L+1+d's router applied to this
    /// token's router input at layer L (fewer entries near the last layer; empty without prefetch).
    public var lookaheadLogits: [[Float]]

    public init(position: Int, routerLogits: [Float], experts: [Int], weights: [Float], lookaheadLogits: [[Float]] = []) {
        self.position = position
        self.routerLogits = routerLogits
        self.experts = experts
        self.weights = weights
        self.lookaheadLogits = lookaheadLogits
    }
}

/// One MoE layer of one forward call: every token of the call (the prompt in a prefill, one token in decode).
public struct LayerStep: Sendable, Equatable {
    public var layer: Int
    public var phase: Phase
    public var tokens: [TokenRouting]

    public init(layer: Int, phase: Phase, tokens: [TokenRouting]) {
        self.layer = layer
        self.phase = phase
        self.tokens = tokens
    }

    /// The distinct experts of the step in order of first use (by position, then best first).
    public var distinctExperts: [Int] {
        var seen = Set<Int>()
        var order: [Int] = []
        for token in tokens {
            for e in token.experts where seen.insert(e).inserted { order.append(e) }
        }
        return order
    }
}
