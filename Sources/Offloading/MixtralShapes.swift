import Foundation
import FileChecks
import Checkpoints

/// Real Mixtral shapes for `plan`, so sizes can be computed without downloading a checkpoint.
public enum MixtralShapes {
    /// `mistralai/Mixtral-8x7B-v0.1` config.json on the Hugging Face Hub: hidden_size 4096,
    /// intermediate_size 14336, num_hidden_layers 32, num_attention_heads 32, num_key_value_heads 8,
    /// vocab_size 32000, num_local_experts 8, num_experts_per_tok 2, max_position_embeddings 32768,
    /// rope_theta 1e6, untied embeddings.
    public static let mixtral8x7B = MixtralConfig(
        vocabSize: 32000, hiddenSize: 4096, intermediateSize: 14336, numHiddenLayers: 32, numAttentionHeads: 32,
        numKeyValueHeads: 8, numExperts: 8, numExpertsPerToken: 2, rmsNormEps: 1e-5, ropeTheta: 1e6,
        maxPositionEmbeddings: 32768)

    /// `mistralai/Mixtral-8x22B-v0.1` config.json on the Hugging Face Hub: hidden_size 6144,
    /// intermediate_size 16384, num_hidden_layers 56, num_attention_heads 48, num_key_value_heads 8,
    /// vocab_size 32768, num_local_experts 8, num_experts_per_tok 2, max_position_embeddings 65536,
    /// rope_theta 1e6, untied embeddings.
    public static let mixtral8x22B = MixtralConfig(
        vocabSize: 32768, hiddenSize: 6144, intermediateSize: 16384, numHiddenLayers: 56, numAttentionHeads: 48,
        numKeyValueHeads: 8, numExperts: 8, numExpertsPerToken: 2, rmsNormEps: 1e-5, ropeTheta: 1e6,
        maxPositionEmbeddings: 65536)

    public static let builtIn: [(name: String, config: MixtralConfig)] = [
        ("mixtral-8x7b", mixtral8x7B), ("mixtral-8x22b", mixtral8x22B),
    ]

    /// A built-in shape by name, or the config.json of a checkpoint directory (or the file itself).
    /// - Throws: `OffloadingError.unknownModelShape`, or `CheckpointError` for a malformed config.json.
    public static func named(_ nameOrPath: String) throws -> (name: String, config: MixtralConfig) {
        if let shape = builtIn.first(where: { $0.name == nameOrPath }) { return shape }
        var url = URL(fileURLWithPath: nameOrPath)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            guard FileKind(path: url.path) == .missing else { throw CheckpointError.nothingAt(url.path) }
            throw OffloadingError.unknownModelShape(nameOrPath, known: builtIn.map(\.name))
        }
        if isDirectory.boolValue { url.appendPathComponent("config.json") }
        return (nameOrPath, try MixtralConfig(contentsOf: url))
    }
}
