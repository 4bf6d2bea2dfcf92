/// How llama.cpp names a Mixtral's tensors in GGUF, translated to and from the Hugging Face names
/// (gguf-py `gguf/tensor_mapping.py` and `constants.py` `TENSOR_NAMES` for `MODEL_ARCH.LLAMA`):
///
///     model.embed_tokens.weight                        token_embd.weight          [vocab, hidden]
///     model.norm.weight                                output_norm.weight         [hidden]
///     lm_head.weight                                   output.weight              [vocab, hidden]
///     model.layers.N.input_layernorm.weight            blk.N.attn_norm.weight     [hidden]
///     model.layers.N.post_attention_layernorm.weight   blk.N.ffn_norm.weight      [hidden]
///     model.layers.N.self_attn.{q,k,v,o}_proj.weight   blk.N.attn_{q,k,v,output}.weight
///     model.layers.N.block_sparse_moe.gate.weight      blk.N.ffn_gate_inp.weight  [numExperts, hidden]
///     …experts.E.w1 / w3 / w2 .weight                  blk.N.ffn_{gate,up,down}_exps.weight, expert E of
///                                                      [numExperts, rows, cols] (older files: blk.N.ffn_gate.E.weight …)
public enum GGUFTensorNames {
    /// Whole-model tensors: (Hugging Face name, GGUF name).
    static let global = [("model.embed_tokens.weight", "token_embd.weight"), ("model.norm.weight", "output_norm.weight"),
                         ("lm_head.weight", "output.weight")]
    /// Per-layer tensors other than experts: (suffix after `model.layers.N.`, suffix after `blk.N.`).
    static let perLayer = [("input_layernorm.weight", "attn_norm.weight"), ("post_attention_layernorm.weight", "ffn_norm.weight"),
                           ("self_attn.q_proj.weight", "attn_q.weight"), ("self_attn.k_proj.weight", "attn_k.weight"),
                           ("self_attn.v_proj.weight", "attn_v.weight"), ("self_attn.o_proj.weight", "attn_output.weight"),
                           ("block_sparse_moe.gate.weight", "ffn_gate_inp.weight")]
    /// Expert projections: (w1/w2/w3, GGUF feed-forward name). w1 = gate, w3 = up, w2 = down.
    public static let expertProjections = [("w1", "ffn_gate"), ("w2", "ffn_down"), ("w3", "ffn_up")]

    /// What a GGUF tensor name stands for.
    enum Role: Equatable {
        /// One Hugging Face tensor.
        case tensor(String)
        /// `[numExperts, rows, cols]` stacked experts of layer `layer`, projection `w` (w1/w2/w3).
        case stackedExperts(layer: Int, w: String)
    }

    /// The role of a GGUF tensor name, or nil for a name outside the Mixtral set (e.g. `rope_freqs.weight`).
    static func role(ofGGUFName name: String) -> Role? {
        if let hf = global.first(where: { $0.1 == name })?.0 { return .tensor(hf) }
        let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0 else { return nil }
        let rest = parts[2]
        if let hf = perLayer.first(where: { $0.1 == rest })?.0 { return .tensor("model.layers.\(layer).\(hf)") }
        for (w, ffn) in expertProjections {
            if rest == "\(ffn)_exps.weight" { return .stackedExperts(layer: layer, w: w) }
            let pieces = rest.split(separator: ".").map(String.init)
            if pieces.count == 3, pieces[0] == ffn, let e = Int(pieces[1]), e >= 0, pieces[2] == "weight" {
                return .tensor(expertName(layer: layer, expert: e, w: w))
            }
        }
        return nil
    }

    /// The Hugging Face name of expert `expert`'s projection `w` in layer `layer`.
    static func expertName(layer: Int, expert: Int, w: String) -> String {
        "model.layers.\(layer).block_sparse_moe.experts.\(expert).\(w).weight"
    }

    /// The GGUF name llama.cpp's converter gives a Hugging Face tensor, or nil for an expert projection
    /// (stacked: use `stackedExpertsName`) or a name outside the Mixtral set.
    public static func ggufName(ofHFName name: String) -> String? {
        if let gguf = global.first(where: { $0.0 == name })?.1 { return gguf }
        let parts = name.split(separator: ".", maxSplits: 3).map(String.init)
        guard parts.count == 4, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]) else { return nil }
        return perLayer.first(where: { $0.0 == parts[3] }).map { "blk.\(layer).\($0.1)" }
    }

    /// `blk.N.ffn_{gate,down,up}_exps.weight` for projection `w` (w1/w2/w3). Precondition: w is one of those.
    public static func stackedExpertsName(layer: Int, w: String) -> String {
        let ffn = expertProjections.first { $0.0 == w }!.1
        return "blk.\(layer).\(ffn)_exps.weight"
    }
}
