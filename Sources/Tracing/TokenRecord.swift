/// A candidate next token and its probability (softmax of the logits at temperature 1).
public struct TokenProbability: Codable, Sendable, Equatable {
    public var id: Int
    public var text: String
    public var probability: Float

    public init(id: Int, text: String, probability: Float) {
        self.id = id
        self.text = text
        self.probability = probability
    }
}

/// The token a forward call produced, what else was likely, and what the call cost on the simulated clock.
public struct TokenRecord: Codable, Sendable, Equatable {
    /// Position the new token will occupy.
    public var position: Int
    /// Phase of the forward call that produced it (the first generated token comes from the prefill).
    public var phase: Phase
    public var tokenId: Int
    public var text: String
    /// The five most likely next tokens, most likely first.
    public var top: [TokenProbability]
    /// Simulated latency of the forward call (all layers, stalls and the LM head), µs.
    public var latencyUs: Double
    /// Part of the latency spent waiting for experts, µs.
    public var stallUs: Double
    /// Simulated time the token is ready, µs since the run began.
    public var endUs: Double

    public init(position: Int, phase: Phase, tokenId: Int, text: String, top: [TokenProbability],
                latencyUs: Double, stallUs: Double, endUs: Double) {
        self.position = position
        self.phase = phase
        self.tokenId = tokenId
        self.text = text
        self.top = top
        self.latencyUs = latencyUs
        self.stallUs = stallUs
        self.endUs = endUs
    }
}
