extension MixtralConfig {
    /// The config of a Mixtral stored as GGUF: architecture `llama` with `llama.expert_count` (llama.cpp has
    /// no separate Mixtral architecture; its converter writes Mixtral as `llama`, `convert_hf_to_gguf.py`
    /// `LlamaModel` and `TextModel.set_gguf_parameters`). Keys read (defaults as llama.cpp's
    /// `llama_model::load_hparams`):
    ///
    ///     llama.block_count, llama.embedding_length, llama.feed_forward_length,
    ///     llama.attention.head_count                                     required
    ///     llama.expert_count, llama.expert_used_count                    required (without them: a dense Llama)
    ///     llama.attention.layer_norm_rms_epsilon                         required
    ///     llama.attention.head_count_kv      default head_count
    ///     llama.attention.key_length         head_dim, default embedding_length / head_count
    ///     llama.rope.dimension_count         must equal head_dim when present (no partial RoPE)
    ///     llama.rope.freq_base               default 10000
    ///     llama.context_length               default 4096·32 (as config.json's default)
    ///     llama.vocab_size                   default: the length of tokenizer.ggml.tokens, else token_embd's rows
    ///     tokenizer.ggml.bos_token_id / eos_token_id
    /// Embeddings are tied when the file has no `output.weight` (llama.cpp then uses `token_embd` as the head).
    /// - Throws: `CheckpointError.unsupportedModelType` for another architecture or a dense llama,
    ///   `.missingConfigKey` naming the key, `.malformedConfig` for a value of the wrong type or shapes
    ///   that do not fit together.
    public init(gguf: GGUFFile) throws {
        let path = gguf.path
        let architecture = gguf.metadata["general.architecture"]?.string
        guard let architecture else { throw CheckpointError.missingConfigKey(path: path, key: "general.architecture") }
        guard architecture == "llama" else {
            throw CheckpointError.unsupportedModelType(path: path, modelType: "GGUF architecture \(architecture)")
        }
        func integer(_ key: String) throws -> Int? {
            guard let value = gguf.metadata[key] else { return nil }
            guard let n = value.int else { throw CheckpointError.malformedConfig(path: path, reason: "\(key) is \(value.type), expected an integer") }
            return n
        }
        func number(_ key: String) throws -> Double? {
            guard let value = gguf.metadata[key] else { return nil }
            guard let x = value.double else { throw CheckpointError.malformedConfig(path: path, reason: "\(key) is \(value.type), expected a number") }
            return x
        }
        func required<T>(_ key: String, _ read: (String) throws -> T?) throws -> T {
            guard let value = try read(key) else { throw CheckpointError.missingConfigKey(path: path, key: key) }
            return value
        }
        guard gguf.metadata["llama.expert_count"] != nil else {
            throw CheckpointError.unsupportedModelType(path: path, modelType: "llama without llama.expert_count (a dense Llama, not a Mixtral)")
        }
        let hidden = try required("llama.embedding_length", integer)
        let heads = try required("llama.attention.head_count", integer)
        guard heads > 0 else { throw CheckpointError.malformedConfig(path: path, reason: "llama.attention.head_count is \(heads)") }
        let headDim = try integer("llama.attention.key_length") ?? hidden / heads
        if let ropeDimensions = try integer("llama.rope.dimension_count"), ropeDimensions != headDim {
            throw CheckpointError.malformedConfig(path: path, reason: "llama.rope.dimension_count \(ropeDimensions) differs from the head dimension \(headDim); partial RoPE is not supported")
        }
        var vocab = try integer("llama.vocab_size")
        if vocab == nil, let tokens = gguf.metadata["tokenizer.ggml.tokens"]?.array { vocab = tokens.count }
        if vocab == nil, let embedding = gguf.tensor("token_embd.weight"), embedding.dimensions.count == 2 { vocab = embedding.dimensions[1] }
        guard let vocab else { throw CheckpointError.missingConfigKey(path: path, key: "llama.vocab_size") }
        self.init(
            vocabSize: vocab, hiddenSize: hidden, intermediateSize: try required("llama.feed_forward_length", integer),
            numHiddenLayers: try required("llama.block_count", integer), numAttentionHeads: heads,
            numKeyValueHeads: try integer("llama.attention.head_count_kv") ?? heads, headDim: headDim,
            numExperts: try required("llama.expert_count", integer),
            numExpertsPerToken: try required("llama.expert_used_count", integer),
            rmsNormEps: Float(try required("llama.attention.layer_norm_rms_epsilon", number)),
            ropeTheta: try number("llama.rope.freq_base") ?? 10000,
            maxPositionEmbeddings: try integer("llama.context_length") ?? 4096 * 32,
            slidingWindow: nil, tieWordEmbeddings: gguf.tensor("output.weight") == nil,
            bosTokenID: try integer("tokenizer.ggml.bos_token_id"), eosTokenID: try integer("tokenizer.ggml.eos_token_id"),
            dtype: nil)
        try validate(path: path)
    }
}
