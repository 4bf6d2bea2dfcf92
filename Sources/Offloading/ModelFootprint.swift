import Checkpoints
import Engine
import Quantization

/// The sizes the simulated clock charges for: bytes (at the storage precision) and weights of every part
/// of a Mixtral model. Built from a loaded model (real byte counts) or from a config and a precision spec
/// (nominal bits per weight, for `plan` on models too large to load).
public struct ModelFootprint: Sendable, Equatable {
    public let numLayers: Int
    public let numExperts: Int
    /// Experts per token (`num_experts_per_tok`).
    public let topK: Int
    /// Bytes of each expert (w1 + w2 + w3) `[layer][expert]`.
    public let expertBytes: [[Int]]
    /// Weights of one expert: `3 · hidden · intermediate`.
    public let expertParameters: Int
    /// Bytes that stay in the fast tier for each layer: attention q/k/v/o, router, two RMSNorm weights.
    public let layerResidentBytes: [Int]
    /// Weights of one layer's attention projections and router.
    public let layerResidentParameters: Int
    /// Bytes of the LM head and final norm (read once per generated token).
    public let headBytes: Int
    /// Bytes of the token-embedding table (resident; one row is read per token).
    public let embeddingBytes: Int
    /// Weights of the LM head `[vocab, hidden]`.
    public let headParameters: Int
    /// The final RMSNorm weight `[hidden]`, fp32.
    public let finalNormBytes: Int
    /// Bytes and weights per tensor class over the whole model (norms counted with attention).
    public let bytesByClass: [TensorClass: Int]
    public let parametersByClass: [TensorClass: Int]
    /// The precision each class of weights is held at (the kernels that run it), where known.
    public let precisions: [TensorClass: Precision]

    /// Real byte counts of a loaded model, at the precision each projection is stored in.
    public init(model: MixtralModel) {
        let c = model.config
        numLayers = c.numHiddenLayers
        numExperts = c.numExperts
        topK = c.numExpertsPerToken
        expertBytes = model.layers.map(\.expertBytes)
        expertParameters = 3 * c.hiddenSize * c.intermediateSize
        let norms = 2 * c.hiddenSize * 4
        layerResidentBytes = model.layers.map { layer in
            let a = layer.attention
            return a.q.byteCount + a.k.byteCount + a.v.byteCount + a.o.byteCount + layer.router.byteCount + norms
        }
        layerResidentParameters = Self.attentionParameters(c) + c.numExperts * c.hiddenSize
        headBytes = model.lmHead.byteCount + c.hiddenSize * 4
        embeddingBytes = model.embedding.byteCount
        headParameters = c.vocabSize * c.hiddenSize
        finalNormBytes = c.hiddenSize * 4
        let attention = model.layers.reduce(0) { sum, layer in
            let a = layer.attention
            return sum + a.q.byteCount + a.k.byteCount + a.v.byteCount + a.o.byteCount + norms
        }
        let tiedShared = c.tieWordEmbeddings && model.lmHead.byteCount == model.embedding.byteCount
        bytesByClass = [
            .attention: attention,
            .experts: expertBytes.joined().reduce(0, +),
            .router: model.layers.reduce(0) { $0 + $1.router.byteCount },
            .embedding: model.embedding.byteCount,
            .head: tiedShared ? 0 : model.lmHead.byteCount,
        ]
        parametersByClass = Self.parameters(c)
        var precisions: [TensorClass: Precision] = [:]
        if let layer = model.layers.first {
            precisions[.attention] = Precision(rawValue: layer.attention.q.formatName)
            precisions[.router] = Precision(rawValue: layer.router.formatName)
            precisions[.experts] = layer.experts.first.flatMap { Precision(rawValue: $0.w1.formatName) }
                ?? (layer.expertProvider as? DiskExpertProvider)?.source.layout.w1.precision
        }
        precisions[.embedding] = Precision(rawValue: model.embedding.formatName)
        precisions[.head] = Precision(rawValue: model.lmHead.formatName)
        self.precisions = precisions
    }

    /// Nominal sizes from shapes: `weights · bitsPerWeight / 8` per tensor class (`Precision.nominalBitsPerWeight`),
    /// norms fp32. A tied LM head shares the embedding's bytes.
    public init(config c: MixtralConfig, precision: PrecisionSpec) {
        func bytes(_ weights: Int, _ tensorClass: TensorClass) -> Int {
            Int((Double(weights) * precision.precision(for: tensorClass).nominalBitsPerWeight / 8).rounded(.up))
        }
        numLayers = c.numHiddenLayers
        numExperts = c.numExperts
        topK = c.numExpertsPerToken
        expertParameters = 3 * c.hiddenSize * c.intermediateSize
        let oneExpert = bytes(expertParameters, .experts)
        expertBytes = Array(repeating: Array(repeating: oneExpert, count: c.numExperts), count: c.numHiddenLayers)
        let norms = 2 * c.hiddenSize * 4
        let attentionLayer = bytes(Self.attentionParameters(c), .attention) + norms
        let routerLayer = bytes(c.numExperts * c.hiddenSize, .router)
        layerResidentBytes = Array(repeating: attentionLayer + routerLayer, count: c.numHiddenLayers)
        layerResidentParameters = Self.attentionParameters(c) + c.numExperts * c.hiddenSize
        headParameters = c.vocabSize * c.hiddenSize
        finalNormBytes = c.hiddenSize * 4
        embeddingBytes = bytes(headParameters, .embedding)
        headBytes = bytes(headParameters, .head) + c.hiddenSize * 4
        let tiedShared = c.tieWordEmbeddings && precision.precision(for: .head) == precision.precision(for: .embedding)
        bytesByClass = [
            .attention: attentionLayer * c.numHiddenLayers,
            .experts: oneExpert * c.numExperts * c.numHiddenLayers,
            .router: routerLayer * c.numHiddenLayers,
            .embedding: embeddingBytes,
            .head: tiedShared ? 0 : headBytes - c.hiddenSize * 4,
        ]
        parametersByClass = Self.parameters(c)
        precisions = Dictionary(uniqueKeysWithValues: TensorClass.allCases.map { ($0, precision.precision(for: $0)) })
    }

    /// q, k, v, o weights of one layer: `hidden · (heads + 2·kvHeads) · headDim + heads · headDim · hidden`.
    static func attentionParameters(_ c: MixtralConfig) -> Int {
        c.hiddenSize * (c.numAttentionHeads + 2 * c.numKeyValueHeads) * c.headDim + c.numAttentionHeads * c.headDim * c.hiddenSize
    }

    static func parameters(_ c: MixtralConfig) -> [TensorClass: Int] {
        [
            .attention: attentionParameters(c) * c.numHiddenLayers,
            .experts: 3 * c.hiddenSize * c.intermediateSize * c.numExperts * c.numHiddenLayers,
            .router: c.numExperts * c.hiddenSize * c.numHiddenLayers,
            .embedding: c.vocabSize * c.hiddenSize,
            .head: c.tieWordEmbeddings ? 0 : c.vocabSize * c.hiddenSize,
        ]
    }

    /// All bytes that never leave the fast tier: embedding, head, every layer's attention, router and norms
    /// (a tied head that shares the embedding's storage counted once).
    public var residentBytes: Int {
        TensorClass.allCases.filter { $0 != .experts }.reduce(0) { $0 + (bytesByClass[$1] ?? 0) } + finalNormBytes
    }

    /// Fast-tier bytes of an expert cache with `slots` slots in every layer (each slot sized for the
    /// layer's largest expert).
    public func cacheBytes(slots: Int) -> Int {
        cacheBytes(slots: Array(repeating: slots, count: numLayers))
    }

    /// Fast-tier bytes of an expert cache with `slots[l]` slots in layer l.
    public func cacheBytes(slots: [Int]) -> Int {
        zip(slots, expertBytes).reduce(0) { $0 + $1.0 * ($1.1.max() ?? 0) }
    }

    /// The largest expert of the model, bytes (all experts have the same size at one precision).
    public var largestExpertBytes: Int { expertBytes.joined().max() ?? 0 }
}
