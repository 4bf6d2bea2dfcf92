/// Greedy or sampled continuation of a prompt, one token at a time against the KV cache.
public struct Generator {
    public let model: MixtralModel
    public var sampler: Sampler
    /// Token id that ends generation (the config's eos_token_id unless changed); nil = never stop early.
    public var stopToken: Int?

    public init(model: MixtralModel, sampler: Sampler = Sampler(), stopToken: Int? = nil) {
        self.model = model
        self.sampler = sampler
        self.stopToken = stopToken ?? model.config.eosTokenID
    }

    /// Prefills `prompt` in one batch, then decodes up to `maxTokens` tokens, calling `onToken` as each
    /// is produced (to stream it).
    /// - Parameters:
    ///   - prompt: token ids (with BOS if the model expects it), at least one.
    ///   - maxTokens: most new tokens.
    ///   - session: supplies the KV cache (fresh if nil) and the observer; must be empty.
    /// - Returns: the new token ids (the stop token included if it was produced).
    /// - Throws: `EngineError.emptyPrompt`, `.contextOverflow` when prompt + maxTokens exceed the context.
    @discardableResult
    public mutating func generate(prompt: [Int], maxTokens: Int, session: Session? = nil,
                                  onToken: (Int) -> Void = { _ in }) throws -> [Int] {
        guard !prompt.isEmpty else { throw EngineError.emptyPrompt }
        let session = session ?? Session(model: model, capacity: min(prompt.count + maxTokens, model.config.maxPositionEmbeddings))
        if prompt.count + maxTokens > session.cache.capacity + 1 {
            throw EngineError.contextOverflow(tokens: prompt.count + maxTokens, capacity: session.cache.capacity)
        }
        var logits = try model.forward(prompt, session: session)
        var produced: [Int] = []
        while produced.count < maxTokens {
            let token = sampler.next(logits: logits[...])
            produced.append(token)
            onToken(token)
            if token == stopToken || produced.count == maxTokens { break }
            logits = try model.forward([token], session: session)
        }
        return produced
    }
}
