import Foundation
import Testing
import Checkpoints
import Engine
import Quantization
import Tensors

/// A GGUF file opened as a Mixtral checkpoint: the fixtures of `tools/make_gguf_fixtures.py` (a tiny model
/// converted by llama.cpp's `convert_hf_to_gguf.py`, and rewritten by gguf-py in the per-expert layout).
@Suite struct GGUFLoadingTests {
    static let folder = fixturesURL.appendingPathComponent("gguf")
    static let safetensors = folder.appendingPathComponent("tiny")
    static let tokens = [1, 5, 100, 200, 300, 7, 42, 383, 2, 17]

    /// Logits `[positions, vocab]` of `tokens` at `precision`.
    static func logits(_ url: URL, precision: String = "fp32") throws -> [Float] {
        let model = try MixtralModel(checkpoint: Checkpoint(directory: url), precision: PrecisionSpec(parsing: precision))
        return try model.forward(tokens, session: Session(model: model), allLogits: true)
    }

    @Test func configFromLlamaKeysEqualsConfigJSON() throws {
        let gguf = try Checkpoint(directory: Self.folder.appendingPathComponent("tiny-f32.gguf"))
        var expected = try Checkpoint(directory: Self.safetensors).config
        expected.dtype = nil
        #expect(gguf.config == expected)
        #expect(gguf.gguf != nil)
        #expect(gguf.tensorNames == (try Checkpoint(directory: Self.safetensors).tensorNames))
    }

    @Test func f32GGUFGivesTheSafetensorsLogits() throws {
        #expect(try Self.logits(Self.folder.appendingPathComponent("tiny-f32.gguf")) == Self.logits(Self.safetensors))
    }

    @Test func q8_0GGUFRunsOnItsBlocksAndEqualsInt8() throws {
        let url = Self.folder.appendingPathComponent("tiny-q8_0.gguf")
        // Whatever --precision says, Q8_0 tensors are used as stored; the router stays fp32 (F32 in the file).
        #expect(try Self.logits(url, precision: "fp32") == Self.logits(Self.safetensors, precision: "int8"))
        let checkpoint = try Checkpoint(directory: url)
        #expect(try checkpoint.storedWeight(WeightNames.kProj(1), rows: 16, cols: 32) is Q8_0Matrix)
        #expect(try checkpoint.storedWeight(WeightNames.expert(0, 3, "w2"), rows: 32, cols: 64) is Q8_0Matrix)
        #expect(try checkpoint.storedWeight(WeightNames.router(0), rows: 4, cols: 32) == nil)
        #expect(checkpoint.ggufWeight(WeightNames.router(0))?.type == .f32)
        // What runs, whatever the spec asked for.
        let held = try #require(try MixtralModel(checkpoint: checkpoint, precision: PrecisionSpec(parsing: "fp32")).heldPrecision())
        #expect(held.precision(for: .attention) == .int8 && held.precision(for: .experts) == .int8)
        #expect(held.precision(for: .router) == .fp32)
    }

    @Test func perExpertLayoutAndVersion2EqualStackedExperts() throws {
        let perExpert = try Checkpoint(directory: Self.folder.appendingPathComponent("tiny-per-expert-v2.gguf"))
        #expect(perExpert.gguf?.version == 2)
        #expect(perExpert.gguf?.tensor("blk.1.ffn_down.3.weight") != nil)
        #expect(perExpert.gguf?.tensor("blk.1.ffn_down_exps.weight") == nil)
        #expect(try Self.logits(perExpert.directory) == Self.logits(Self.folder.appendingPathComponent("tiny-q8_0.gguf")))
    }

    @Test func qAndKRowsAreUnpermuted() throws {
        let gguf = try Checkpoint(directory: Self.folder.appendingPathComponent("tiny-f32.gguf"))
        let hf = try Checkpoint(directory: Self.safetensors)
        for name in [WeightNames.qProj(0), WeightNames.kProj(1), WeightNames.vProj(0)] {
            #expect(try gguf.floats(name) == hf.floats(name), "\(name)")
        }
        #expect(gguf.ggufWeight(WeightNames.qProj(0))?.permutedHeads == 4)
        #expect(gguf.ggufWeight(WeightNames.kProj(0))?.permutedHeads == 2)
        #expect(throws: CheckpointError.self) { try gguf.rawBytes(WeightNames.qProj(0)) }
    }

    static let mixed = folder.appendingPathComponent("tiny-mixed.gguf")
    static func mixedExpected() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: mixed.deletingPathExtension().appendingPathExtension("json"))) as! [String: Any]
    }

    /// Q4_1, Q5_0, F16, BF16, Q4_0 and Q8_0 tensors in one file (gguf-py re-encoded tiny-f32.gguf).
    @Test func mixedTypesDecodeAsGGUFPy() throws {
        let expected = try Self.mixedExpected()
        let file = try GGUFFile(url: Self.mixed)
        for entry in expected["tensors"] as! [[String: Any]] {
            let tensor = try #require(file.tensor(entry["name"] as! String))
            #expect(tensor.type.name == entry["type"] as! String)
            // The stored tensor, decoded in file order (stacked experts and permuted rows as stored).
            let stored = GGUFWeight(wholeTensor: tensor, in: file)
            let values = try stored.floats().map(Double.init)
            #expect(values.count == entry["count"] as! Int)
            // Compared as fp32 (the decoded values are fp32; Foundation's JSON parser on Linux may be off in
            // the last bit of a 17-digit decimal).
            #expect(Array(values.prefix(16)).map(Float.init) == (entry["first"] as! [Double]).map(Float.init), "\(tensor.name)")
            let sum = entry["sum"] as! Double, squares = entry["sum_of_squares"] as! Double
            #expect(abs(values.reduce(0, +) - sum) <= 1e-9 * max(1, squares), "\(tensor.name)")
            #expect(abs(values.reduce(0) { $0 + $1 * $1 } - squares) <= 1e-9 * squares, "\(tensor.name)")
        }
    }

    @Test func everyWeightNameHasAGGUFName() {
        for l in 0..<3 {
            for name in [WeightNames.inputNorm(l), WeightNames.postAttentionNorm(l), WeightNames.qProj(l), WeightNames.kProj(l),
                         WeightNames.vProj(l), WeightNames.oProj(l), WeightNames.router(l)] {
                #expect(GGUFTensorNames.ggufName(ofHFName: name)?.hasPrefix("blk.\(l).") == true, "\(name)")
            }
        }
        #expect(GGUFTensorNames.ggufName(ofHFName: WeightNames.embedding) == "token_embd.weight")
        #expect(GGUFTensorNames.ggufName(ofHFName: WeightNames.lmHead) == "output.weight")
        #expect(GGUFTensorNames.ggufName(ofHFName: WeightNames.finalNorm) == "output_norm.weight")
        #expect(GGUFTensorNames.stackedExpertsName(layer: 2, w: "w3") == "blk.2.ffn_up_exps.weight")
    }

    @Test func aFileThatIsNeitherDirectoryNorGGUFIsRefused() throws {
        let error = #expect(throws: CheckpointError.self) {
            try Checkpoint(directory: Self.safetensors.appendingPathComponent("config.json"))
        }
        #expect(error?.description.contains("not a GGUF file (bad magic 7b") == true, "\(error.map { "\($0)" } ?? "no error")")
    }
}
