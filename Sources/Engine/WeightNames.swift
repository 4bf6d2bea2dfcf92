import Checkpoints

/// Tensor names of a Hugging Face Mixtral checkpoint (transformers `MixtralForCausalLM`,
/// `save_pretrained` layout, the same names as mistralai/Mixtral-8x7B-v0.1 on the Hub), kept in this one
/// place so the rest of the engine never spells a tensor name.
public enum WeightNames {
    public static let embedding = "model.embed_tokens.weight"            // [vocab, hidden]
    public static let finalNorm = "model.norm.weight"                    // [hidden]
    public static let lmHead = "lm_head.weight"                          // [vocab, hidden]

    static func layer(_ l: Int) -> String { "model.layers.\(l)" }
    public static func inputNorm(_ l: Int) -> String { "\(layer(l)).input_layernorm.weight" }                  // [hidden]
    public static func postAttentionNorm(_ l: Int) -> String { "\(layer(l)).post_attention_layernorm.weight" } // [hidden]
    public static func qProj(_ l: Int) -> String { "\(layer(l)).self_attn.q_proj.weight" }   // [heads·headDim, hidden]
    public static func kProj(_ l: Int) -> String { "\(layer(l)).self_attn.k_proj.weight" }   // [kvHeads·headDim, hidden]
    public static func vProj(_ l: Int) -> String { "\(layer(l)).self_attn.v_proj.weight" }   // [kvHeads·headDim, hidden]
    public static func oProj(_ l: Int) -> String { "\(layer(l)).self_attn.o_proj.weight" }   // [hidden, heads·headDim]
    public static func router(_ l: Int) -> String { "\(layer(l)).block_sparse_moe.gate.weight" } // [numExperts, hidden]
    /// Expert projections: w1 = gate `[intermediate, hidden]`, w3 = up `[intermediate, hidden]`,
    /// w2 = down `[hidden, intermediate]`.
    public static func expert(_ l: Int, _ e: Int, _ w: String) -> String {
        "\(layer(l)).block_sparse_moe.experts.\(e).\(w).weight"
    }

    /// `[rows, cols]` of the weight matrix `name` under `config` (the shapes noted above), or nil for a
    /// name that is no weight matrix (norms, companions).
    public static func matrixShape(of name: String, config c: MixtralConfig) -> (rows: Int, cols: Int)? {
        let attention = c.numAttentionHeads * c.headDim, keyValue = c.numKeyValueHeads * c.headDim
        if name == embedding || name == lmHead { return (c.vocabSize, c.hiddenSize) }
        let endings: [(String, (Int, Int))] = [
            (".self_attn.q_proj.weight", (attention, c.hiddenSize)), (".self_attn.k_proj.weight", (keyValue, c.hiddenSize)),
            (".self_attn.v_proj.weight", (keyValue, c.hiddenSize)), (".self_attn.o_proj.weight", (c.hiddenSize, attention)),
            (".block_sparse_moe.gate.weight", (c.numExperts, c.hiddenSize)),
            (".w1.weight", (c.intermediateSize, c.hiddenSize)), (".w3.weight", (c.intermediateSize, c.hiddenSize)),
            (".w2.weight", (c.hiddenSize, c.intermediateSize)),
        ]
        return endings.first { name.hasSuffix($0.0) }.map { (rows: $0.1.0, cols: $0.1.1) }
    }
}
