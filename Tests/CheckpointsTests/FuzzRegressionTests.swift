import Foundation
import Testing
@testable import Checkpoints
import TestSupport

/// Inputs the fuzz targets (Fuzz/, scripts/fuzz.sh) found crashing, kept as regression tests: each must now
/// be refused with a message, not crash.
struct FuzzRegressionTests {
    /// A small config.json; `overrides` replace or add keys.
    private func config(_ overrides: [String: Any]) -> Data {
        var keys: [String: Any] = ["model_type": "mixtral", "vocab_size": 32, "hidden_size": 16, "intermediate_size": 24,
                                   "num_hidden_layers": 2, "num_key_value_heads": 2, "num_local_experts": 4,
                                   "num_experts_per_tok": 2, "rope_theta": 10000.0]
        keys.merge(overrides) { $1 }
        return try! JSONSerialization.data(withJSONObject: keys)
    }

    /// fuzz-config-json: num_attention_heads 0 without head_dim divided by zero while computing head_dim.
    @Test func zeroHeadsWithoutHeadDimIsRefused() {
        #expect(throws: CheckpointError.malformedConfig(path: "c.json", reason: "num_attention_heads = 0 is out of range")) {
            try MixtralConfig(json: config(["num_attention_heads": 0, "head_dim": NSNull()]), path: "c.json")
        }
        #expect(throws: CheckpointError.self) {
            try MixtralConfig(json: config(["num_attention_heads": -2]), path: "c.json")
        }
    }

    /// Sizes each within range whose products would overflow the parameter counts.
    @Test func sizesWhoseProductOverflowsAreRefused() {
        let huge: [String: Any] = ["num_attention_heads": 2, "hidden_size": 1 << 24, "intermediate_size": 1 << 24, "num_local_experts": 1 << 24]
        #expect(throws: CheckpointError.self) { try MixtralConfig(json: config(huge), path: "c.json") }
    }

    @Test func theSeedConfigStillLoads() throws {
        let parsed = try MixtralConfig(json: config(["num_attention_heads": 4]), path: "c.json")
        #expect(parsed.headDim == 4 && parsed.parameterCount > 0)
    }

    /// fuzz-tokenizer-json: a vocabulary entry with id 320,000,000 made the piece table 2.5 GB.
    @Test func aHugeVocabularyIDIsRefusedNotAllocated() {
        let json = #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 320000000}, "merges": []}}"#
        #expect(throws: TokenizerError.self) { try Tokenizer(json: Data(json.utf8), source: "t.json") }
        let dense = #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}}"#
        #expect(throws: Never.self) { try Tokenizer(json: Data(dense.utf8), source: "t.json") }
    }
    /// fuzz-gguf (CI, 2026-12-07): an `attn_q` tensor with zero rows divided by zero when its RoPE row
    /// permutation was undone (`GGUFWeight.bytes`).
    @Test func aGGUFMixtralTensorWithAnEmptyDimensionIsRefused() throws {
        let mixtral = try MixtralConfig(json: config(["num_attention_heads": 4]), path: "c.json")
        for dimensions in [[16, 0], [0, 16], [0]] {
            var writer = GGUFWriter()
            writer.add("general.architecture", .string("llama"))
            let name = dimensions.count == 1 ? "blk.0.attn_norm.weight" : "blk.0.attn_q.weight"
            writer.addTensor(name, type: .f32, dimensions: dimensions, bytes: [])
            try withTemporaryDirectory("gguf") { folder in
                let url = folder.appendingPathComponent("empty.gguf")
                _ = try writer.write(to: url)
                let file = try GGUFFile(url: url)
                let error = #expect(throws: CheckpointError.self) { try GGUFTensorSource(file: file, config: mixtral) }
                #expect(error?.description.contains("no empty dimension") == true, "\(dimensions)")
            }
        }
    }
}
