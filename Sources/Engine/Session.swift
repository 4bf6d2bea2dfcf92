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

    /// The workspace for `n` tokens, reallocated only when a larger batch arrives.
    func workspace(tokens n: Int, shape: ModelShape) -> Workspace {
        if let scratch, scratch.tokens >= n { return scratch }
        let fresh = Workspace(tokens: n, shape: shape)
        scratch = fresh
        return fresh
    }
}
