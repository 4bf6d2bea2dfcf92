import Checkpoints

/// The state of one sequence being run through a model: its KV cache, reusable scratch buffers, and an
/// optional observer of routing decisions and residual streams.
public final class Session {
    public let cache: KVCache
    /// Receives routing decisions and per-layer residuals (nil: nothing is recorded).
    public var observer: ForwardObserver?
    private var scratch: Workspace?

    /// - Parameters:
    ///   - model: the model this session runs on.
    ///   - capacity: positions to reserve; defaults to `max_position_embeddings`, capped at 4096 to keep
    ///     the KV cache small (`layers · capacity · kvHeads · headDim · 2 · 4` bytes).
    public init(model: MixtralModel, capacity: Int? = nil, observer: ForwardObserver? = nil) {
        let c = model.config
        let positions = min(capacity ?? min(c.maxPositionEmbeddings, 4096), c.maxPositionEmbeddings)
        cache = KVCache(layers: c.numHiddenLayers, capacity: positions, rowSize: c.numKeyValueHeads * c.headDim)
        self.observer = observer
    }

    /// Bytes a session on a model with `config` holds for `capacity` positions and forward calls of up to
    /// `tokens` tokens: the KV cache (`layers · capacity · kvHeads · headDim · 2 · 4`) and the scratch
    /// workspace. (Logits, `[vocab]` floats per call, are the caller's.)
    public static func memoryBytes(config: MixtralConfig, capacity: Int, tokens: Int) -> Int {
        let kvCache = config.numHiddenLayers * capacity * config.numKeyValueHeads * config.headDim * 2 * MemoryLayout<Float>.size
        return kvCache + Workspace.byteCount(tokens: tokens, shape: ModelShape(config: config))
    }

    /// The workspace for `n` tokens, reallocated only when a larger batch arrives.
    func workspace(tokens n: Int, shape: ModelShape) -> Workspace {
        if let scratch, scratch.tokens >= n { return scratch }
        let fresh = Workspace(tokens: n, shape: shape)
        scratch = fresh
        return fresh
    }
}
