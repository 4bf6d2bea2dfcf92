import Tensors

/// Weights of one attention block (transformers `MixtralAttention`).
public struct AttentionWeights: Sendable {
    /// `[heads·headDim, hidden]`
    public let q: any LinearOperator
    /// `[kvHeads·headDim, hidden]`
    public let k: any LinearOperator
    /// `[kvHeads·headDim, hidden]`
    public let v: any LinearOperator
    /// `[hidden, heads·headDim]`
    public let o: any LinearOperator
}

/// One expert's feed-forward network: `w2(silu(w1·x) ⊙ (w3·x))` (transformers `MixtralBlockSparseTop2MLP`).
public struct ExpertWeights: Sendable {
    /// gate projection `[intermediate, hidden]`
    public let w1: any LinearOperator
    /// down projection `[hidden, intermediate]`
    public let w2: any LinearOperator
    /// up projection `[intermediate, hidden]`
    public let w3: any LinearOperator

    public init(w1: any LinearOperator, w2: any LinearOperator, w3: any LinearOperator) {
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// Bytes of the three projections at their storage precision.
    public var byteCount: Int { w1.byteCount + w2.byteCount + w3.byteCount }
}

/// One decoder layer: RMSNorm → attention → residual → RMSNorm → sparse MoE block → residual.
public struct DecoderLayer: Sendable {
    /// `[hidden]` input_layernorm weight.
    public let inputNorm: [Float]
    public let attention: AttentionWeights
    /// `[hidden]` post_attention_layernorm weight.
    public let postAttentionNorm: [Float]
    /// Router (gate) `[numExperts, hidden]`: router logits = router · x.
    public let router: any LinearOperator
    /// The `numExperts` experts when they are resident; empty when `expertProvider` streams them.
    public let experts: [ExpertWeights]
    /// Supplies the experts when they are not resident (nil: `experts` holds them all).
    public let expertProvider: ExpertProvider?
    /// Bytes of each expert at its storage precision `[numExperts]`, resident or streamed.
    public let expertBytes: [Int]

    /// A layer whose experts are resident (`experts`, `numExperts` of them) or streamed by `expertProvider`
    /// (then `experts` is empty and `layer` is this layer's index, for the provider's sizes).
    public init(inputNorm: [Float], attention: AttentionWeights, postAttentionNorm: [Float],
                router: any LinearOperator, experts: [ExpertWeights],
                streamedBy expertProvider: ExpertProvider? = nil, layer: Int = 0) {
        precondition(experts.isEmpty == (expertProvider != nil), "DecoderLayer: give the experts or a provider, not both")
        self.inputNorm = inputNorm
        self.attention = attention
        self.postAttentionNorm = postAttentionNorm
        self.router = router
        self.experts = experts
        self.expertProvider = expertProvider
        expertBytes = expertProvider?.expertBytes(layer: layer) ?? experts.map(\.byteCount)
    }
}
