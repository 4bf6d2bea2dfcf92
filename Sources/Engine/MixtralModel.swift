import Foundation
import Tensors
import Checkpoints
import Quantization
import UserInput

/// A Mixtral model held in memory: embedding table, decoder layers, final norm and LM head, each
/// projection at its own storage precision. Immutable; per-sequence state lives in a `Session`.
public final class MixtralModel: Sendable {
    public let config: MixtralConfig
    /// Token embeddings `[vocab, hidden]` (looked up row by row).
    public let embedding: any LinearOperator
    public let layers: [DecoderLayer]
    /// `[hidden]` final RMSNorm weight.
    public let finalNorm: [Float]
    /// LM head `[vocab, hidden]` (the embedding table when tied).
    public let lmHead: any LinearOperator
    let rope: RotaryEmbedding
    let shape: ModelShape

    public init(config: MixtralConfig, embedding: any LinearOperator, layers: [DecoderLayer],
                finalNorm: [Float], lmHead: any LinearOperator) {
        self.config = config
        self.embedding = embedding
        self.layers = layers
        self.finalNorm = finalNorm
        self.lmHead = lmHead
        rope = RotaryEmbedding(headDim: config.headDim, theta: config.ropeTheta)
        shape = ModelShape(config: config)
    }

    /// Bytes of all weights at their storage precision (norms as fp32), streamed experts included.
    public var weightBytes: Int {
        let norms = (2 * layers.count + 1) * config.hiddenSize * 4
        let perLayer = layers.reduce(0) { sum, layer in
            sum + layer.attention.q.byteCount + layer.attention.k.byteCount + layer.attention.v.byteCount
                + layer.attention.o.byteCount + layer.router.byteCount + layer.expertBytes.reduce(0, +)
        }
        let head = config.tieWordEmbeddings && lmHead.byteCount == embedding.byteCount ? 0 : lmHead.byteCount
        return embedding.byteCount + perLayer + head + norms
    }

    /// The precisions the weights are held at, read from one weight per class (layer 0's q_proj, router
    /// and first expert's w1, the embedding, the LM head). It differs from the spec the model was loaded
    /// at when the checkpoint stores weights quantized or at 16 bits: those load as stored (a GGUF
    /// file's Q4_0 tensors run as q4 whatever the spec says). Nil when the experts are streamed
    /// (`expertProvider`), the model has no layer, or a weight's format is not a `Precision`.
    public func heldPrecision() -> PrecisionSpec? {
        guard let layer = layers.first, let expert = layer.experts.first else { return nil }
        let weights: [TensorClass: any LinearOperator] = [.attention: layer.attention.q, .experts: expert.w1, .router: layer.router,
                                                          .embedding: embedding, .head: lmHead]
        var held: [TensorClass: Precision] = [:]
        for (tensorClass, weight) in weights {
            guard let precision = Precision(rawValue: weight.formatName) else { return nil }
            held[tensorClass] = precision
        }
        return PrecisionSpec(held)
    }

    /// Runs `tokens` through the model, appending them to the session's KV cache, and returns logits.
    ///
    /// Prefill (many tokens) uses matrix–matrix products; decode (one token) matrix–vector products —
    /// the same code with `n = tokens.count`.
    /// - Parameters:
    ///   - tokens: token ids to append, `n ≥ 1`.
    ///   - session: the sequence's KV cache and scratch buffers.
    ///   - allLogits: return logits for every new position (`[n, vocab]`), otherwise only the last (`[1, vocab]`).
    /// - Returns: logits row-major, `[n or 1, vocab]`.
    /// - Throws: `EngineError.contextOverflow` when the cache is full, `.invalidToken` for an id outside the
    ///   vocabulary, `.nonFinite` naming where the first NaN or infinity appeared (`checkFinite`); a
    ///   streaming `ExpertProvider`'s read errors.
    public func forward(_ tokens: [Int], session: Session, allLogits: Bool = false) throws -> [Float] {
        let n = tokens.count
        let start = session.cache.count
        guard n > 0 else { return [] }
        guard start + n <= session.cache.capacity else {
            throw EngineError.contextOverflow(tokens: start + n, capacity: session.cache.capacity)
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw EngineError.invalidToken(id: bad, vocabularySize: config.vocabSize)
        }
        let ws = session.workspace(tokens: n, shape: shape)
        let hidden = config.hiddenSize

        // token embedding
        for (t, token) in tokens.enumerated() { embedding.decodeRows(token..<(token + 1), into: ws.residual + t * hidden) }
        try checkFinite(ws.residual, rows: n, width: hidden, firstPosition: start, place: .embedding)

        for (l, layer) in layers.enumerated() {
            // attention RMSNorm, attention (with the KV cache), residual
            for t in 0..<n {
                rmsNorm(ws.residual + t * hidden, weight: layer.inputNorm, eps: config.rmsNormEps, n: hidden, into: ws.normed + t * hidden)
            }
            attend(layer: l, weights: layer.attention, tokens: n, start: start, session: session, ws: ws)
            for i in 0..<(n * hidden) { ws.residual[i] += ws.projected[i] }
            try checkFinite(ws.residual, rows: n, width: hidden, firstPosition: start, place: .attention(layer: l))

            // MoE RMSNorm, sparse MoE block, residual
            for t in 0..<n {
                rmsNorm(ws.residual + t * hidden, weight: layer.postAttentionNorm, eps: config.rmsNormEps, n: hidden, into: ws.normed + t * hidden)
            }
            try mixtureOfExperts(layer: l, weights: layer, tokens: n, start: start, observer: session.observer, ws: ws)
            for i in 0..<(n * hidden) { ws.residual[i] += ws.projected[i] }
            try checkFinite(ws.residual, rows: n, width: hidden, firstPosition: start, place: .experts(layer: l))

            if let observer = session.observer {
                for t in 0..<n {
                    observer.layerFinished(layer: l, position: start + t,
                                           residual: UnsafeBufferPointer(start: ws.residual + t * hidden, count: hidden))
                }
            }
        }
        session.cache.count = start + n

        // final RMSNorm and LM head
        let first = allLogits ? 0 : n - 1
        let rows = n - first
        for t in first..<n {
            rmsNorm(ws.residual + t * hidden, weight: finalNorm, eps: config.rmsNormEps, n: hidden, into: ws.normed + (t - first) * hidden)
        }
        var logits = [Float](repeating: 0, count: rows * config.vocabSize)
        try logits.withUnsafeMutableBufferPointer {
            lmHead.apply(batch: rows, ws.normed, into: $0.baseAddress!)
            try checkFinite($0.baseAddress!, rows: rows, width: config.vocabSize, firstPosition: start + first, place: .head)
        }
        return logits
    }
}

/// OpenBLAS threads that suit a model: one for small models, whose matrix–vector products are too short
/// for threads to pay off (measured: 1,020 vs 776 tokens/s decode on the 5.9 M-parameter default model),
/// one per core once an expert matrix has a million weights or more.
public func recommendedBLASThreads(_ config: MixtralConfig) -> Int {
    config.hiddenSize * config.intermediateSize >= 1 << 20 ? ProcessInfo.processInfo.activeProcessorCount : 1
}

/// Errors of a forward pass or generation.
public enum EngineError: UserInputError, Equatable {
    case contextOverflow(tokens: Int, capacity: Int)
    case invalidToken(id: Int, vocabularySize: Int)
    case emptyPrompt
    /// The first NaN or infinity of a forward pass: where (`ForwardPlace`), at which position, its value.
    case nonFinite(place: ForwardPlace, position: Int, value: Float)

    public var description: String {
        switch self {
        case .contextOverflow(let tokens, let capacity):
            return "the sequence needs \(tokens) positions but the context holds \(capacity) (max_position_embeddings or --max-tokens)"
        case .invalidToken(let id, let size):
            return "token id \(id) is outside the vocabulary (0..<\(size))"
        case .emptyPrompt:
            return "the prompt is empty: give at least one token"
        case .nonFinite(let place, let position, let value):
            return "the model's numbers left fp32's range: \(value) in the residual stream \(place) at position \(position), the first non-finite value of the forward pass (a weight that is NaN or infinite, or activations that overflow; no result is given)"
        }
    }
}
