import Foundation
import FileChecks

/// Hyper-parameters of a Mixtral checkpoint, read from Hugging Face `config.json`
/// (transformers `MixtralConfig`, `configuration_mixtral.py`).
///
/// Both spellings seen in the wild are accepted: Hub checkpoints write `rope_theta` and `torch_dtype`;
/// transformers 5.x writes `rope_parameters: {rope_theta, rope_type}` and `dtype`.
public struct MixtralConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    /// Hidden width of each expert's feed-forward network (w1/w3 output, w2 input).
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    /// Per-head dimension; `hidden_size / num_attention_heads` unless the config sets `head_dim`.
    public var headDim: Int
    /// `num_local_experts`: experts per MoE layer.
    public var numExperts: Int
    /// `num_experts_per_tok`: top-k.
    public var numExpertsPerToken: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double
    public var maxPositionEmbeddings: Int
    /// Keys a query may attend to, counting itself (transformers' convention); `nil` = no window.
    public var slidingWindow: Int?
    public var tieWordEmbeddings: Bool
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    /// `torch_dtype` / `dtype` as written (informational: tensors carry their own dtypes).
    public var dtype: String?

    public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int,
                numAttentionHeads: Int, numKeyValueHeads: Int, headDim: Int? = nil, numExperts: Int,
                numExpertsPerToken: Int, rmsNormEps: Float = 1e-5, ropeTheta: Double = 1e6,
                maxPositionEmbeddings: Int = 4096, slidingWindow: Int? = nil, tieWordEmbeddings: Bool = false,
                bosTokenID: Int? = 1, eosTokenID: Int? = 2, dtype: String? = nil) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads
        // without heads, 0 (refused by `validate`, which names num_attention_heads)
        self.headDim = headDim ?? (numAttentionHeads > 0 ? hiddenSize / numAttentionHeads : 0)
        self.numExperts = numExperts
        self.numExpertsPerToken = numExpertsPerToken
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.slidingWindow = slidingWindow
        self.tieWordEmbeddings = tieWordEmbeddings
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.dtype = dtype
    }

    /// Reads and validates `config.json`.
    /// - Throws: `CheckpointError.fileNotFound`, `.malformedConfig` (not JSON, wrong types, inconsistent
    ///   shapes), `.missingConfigKey` (naming the key), `.unsupportedModelType`.
    public init(contentsOf url: URL) throws {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.nothingAt(path) }
        if let problem = inputFileProblem(path) { throw CheckpointError.unreadable(path: path, reason: problem) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CheckpointError.unreadable(path: path, reason: error.localizedDescription)
        }
        try self.init(json: data, path: path)
    }

    /// Parses `config.json` content; `path` is used in error messages.
    public init(json data: Data, path: String) throws {
        let file: ConfigFile
        do {
            file = try JSONDecoder().decode(ConfigFile.self, from: data)
        } catch DecodingError.keyNotFound(let key, _) {
            throw CheckpointError.missingConfigKey(path: path, key: key.stringValue)
        } catch DecodingError.valueNotFound(_, let context) {
            throw CheckpointError.missingConfigKey(path: path, key: context.codingPath.map(\.stringValue).joined(separator: "."))
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            throw CheckpointError.malformedConfig(path: path, reason: "not a JSON object")
        } catch DecodingError.typeMismatch(let type, let context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw CheckpointError.malformedConfig(path: path, reason: "\"\(key)\" must be of type \(type)")
        } catch {
            // Python's json.dump writes float('inf') and float('nan') as Infinity and NaN, which JSON lacks
            let text = String(decoding: data, as: UTF8.self)
            let literal = ["Infinity", "NaN"].first { text.contains($0) }
            throw CheckpointError.malformedConfig(path: path, reason: "not valid JSON"
                + (literal.map { " (it contains \($0), which JSON has no literal for (RFC 8259); write a finite number)" } ?? ""))
        }
        if let modelType = file.modelType, modelType != "mixtral" {
            throw CheckpointError.unsupportedModelType(path: path, modelType: modelType)
        }
        // rope_theta: Hub spelling at the top level, transformers 5.x inside rope_parameters.
        guard let ropeTheta = file.ropeTheta ?? file.ropeParameters?.ropeTheta else {
            throw CheckpointError.missingConfigKey(path: path, key: "rope_theta")
        }
        if let ropeType = file.ropeParameters?.ropeType, ropeType != "default" {
            throw CheckpointError.malformedConfig(path: path, reason: "rope_type \"\(ropeType)\" is not supported (only \"default\")")
        }
        self.init(
            vocabSize: file.vocabSize, hiddenSize: file.hiddenSize, intermediateSize: file.intermediateSize,
            numHiddenLayers: file.numHiddenLayers, numAttentionHeads: file.numAttentionHeads,
            numKeyValueHeads: file.numKeyValueHeads ?? file.numAttentionHeads, headDim: file.headDim,
            numExperts: file.numLocalExperts, numExpertsPerToken: file.numExpertsPerTok,
            rmsNormEps: Float(file.rmsNormEps ?? 1e-5), ropeTheta: ropeTheta,
            maxPositionEmbeddings: file.maxPositionEmbeddings ?? 4096 * 32,
            slidingWindow: file.slidingWindow, tieWordEmbeddings: file.tieWordEmbeddings ?? false,
            bosTokenID: file.bosTokenId?.first, eosTokenID: file.eosTokenId?.first,
            dtype: file.dtype ?? file.torchDtype)
        try validate(path: path)
    }

    /// Checks the shapes fit together (heads divide evenly, top-k within the expert count, …).
    func validate(path: String) throws {
        func fail(_ reason: String) -> CheckpointError { .malformedConfig(path: path, reason: reason) }
        for (name, value) in [("vocab_size", vocabSize), ("hidden_size", hiddenSize),
                              ("intermediate_size", intermediateSize), ("num_hidden_layers", numHiddenLayers),
                              ("num_attention_heads", numAttentionHeads), ("num_key_value_heads", numKeyValueHeads),
                              ("head_dim", headDim), ("num_local_experts", numExperts),
                              ("num_experts_per_tok", numExpertsPerToken), ("max_position_embeddings", maxPositionEmbeddings)]
        where value <= 0 || value > 1 << 24 {
            throw fail("\(name) = \(value) is out of range")
        }
        // Each size is at most 2^24, but their products (parameter counts, tensor sizes) could still overflow
        // Int; a model of over 10^14 parameters (Mixtral-8x22B has 1.4 × 10^11) is refused first.
        let parameters = Double(numHiddenLayers) * (Double(numExperts) * 3 * Double(hiddenSize) * Double(intermediateSize)
            + 2 * Double(hiddenSize) * Double(numAttentionHeads + numKeyValueHeads) * Double(headDim))
            + 2 * Double(vocabSize) * Double(hiddenSize)
        if parameters > 1e14 { throw fail(String(format: "the sizes give %.2g parameters, implausibly many", parameters)) }
        if numAttentionHeads % numKeyValueHeads != 0 {
            throw fail("num_attention_heads (\(numAttentionHeads)) is not a multiple of num_key_value_heads (\(numKeyValueHeads))")
        }
        if headDim % 2 != 0 { throw fail("head_dim (\(headDim)) must be even for RoPE") }
        if numExpertsPerToken > numExperts {
            throw fail("num_experts_per_tok (\(numExpertsPerToken)) exceeds num_local_experts (\(numExperts))")
        }
        if let window = slidingWindow, window <= 0 { throw fail("sliding_window must be positive or null") }
        if !(rmsNormEps > 0 && rmsNormEps.isFinite) { throw fail("rms_norm_eps must be a small positive number, got \(rmsNormEps)") }
        if !(ropeTheta > 0 && ropeTheta.isFinite) { throw fail("rope_theta must be positive, got \(ropeTheta)") }
    }

    /// Parameters of one expert: w1, w3 `[intermediate, hidden]` and w2 `[hidden, intermediate]`.
    public var parametersPerExpert: Int { 3 * hiddenSize * intermediateSize }
    /// Attention parameters per layer: q, o `[heads·headDim, hidden]`; k, v `[kvHeads·headDim, hidden]`.
    public var attentionParametersPerLayer: Int {
        2 * numAttentionHeads * headDim * hiddenSize + 2 * numKeyValueHeads * headDim * hiddenSize
    }
    /// Total parameter count (embeddings, attention, router, experts, norms, head).
    public var parameterCount: Int {
        let perLayer = attentionParametersPerLayer + numExperts * hiddenSize + numExperts * parametersPerExpert + 2 * hiddenSize
        let head = tieWordEmbeddings ? 0 : vocabSize * hiddenSize
        return vocabSize * hiddenSize + numHiddenLayers * perLayer + hiddenSize + head
    }
    /// Parameters used for one token: everything but the `numExperts − top-k` idle experts per layer and,
    /// unless the embedding doubles as the LM head, all embedding rows but the token's own.
    public var activeParameterCount: Int {
        parameterCount - numHiddenLayers * (numExperts - numExpertsPerToken) * parametersPerExpert
            - (tieWordEmbeddings ? 0 : (vocabSize - 1) * hiddenSize)
    }
}

/// config.json as written by transformers (`MixtralConfig.to_dict()`), JSON keys mapped in `CodingKeys`.
/// Optional fields get their defaults in `MixtralConfig.init`.
private struct ConfigFile: Decodable {
    struct RopeParameters: Decodable {
        let ropeTheta: Double?
        let ropeType: String?
        enum CodingKeys: String, CodingKey { case ropeTheta = "rope_theta", ropeType = "rope_type" }
    }

    /// A token id written as an integer or a list of integers.
    enum TokenIDs: Decodable {
        case ids([Int])
        var first: Int? { if case .ids(let ids) = self { return ids.first } else { return nil } }
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let id = try? container.decode(Int.self) { self = .ids([id]) } else { self = .ids(try container.decode([Int].self)) }
        }
    }

    let modelType: String?
    let vocabSize: Int
    let hiddenSize: Int
    let intermediateSize: Int
    let numHiddenLayers: Int
    let numAttentionHeads: Int
    let numKeyValueHeads: Int?
    let headDim: Int?
    let numLocalExperts: Int
    let numExpertsPerTok: Int
    let rmsNormEps: Double?
    let ropeTheta: Double?
    let ropeParameters: RopeParameters?
    let maxPositionEmbeddings: Int?
    let slidingWindow: Int?
    let tieWordEmbeddings: Bool?
    let bosTokenId: TokenIDs?
    let eosTokenId: TokenIDs?
    let dtype: String?
    let torchDtype: String?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", vocabSize = "vocab_size", hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", numKeyValueHeads = "num_key_value_heads", headDim = "head_dim"
        case numLocalExperts = "num_local_experts", numExpertsPerTok = "num_experts_per_tok"
        case rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta", ropeParameters = "rope_parameters"
        case maxPositionEmbeddings = "max_position_embeddings", slidingWindow = "sliding_window"
        case tieWordEmbeddings = "tie_word_embeddings", bosTokenId = "bos_token_id", eosTokenId = "eos_token_id"
        case dtype, torchDtype = "torch_dtype"
    }
}
