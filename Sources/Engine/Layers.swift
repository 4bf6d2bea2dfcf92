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
    /// `numExperts` experts.
    public let experts: [ExpertWeights]
}
