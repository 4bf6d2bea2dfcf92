import Testing
import Foundation
import Checkpoints
import Engine
import Quantization

/// The embedded default model (models/shakespeare-mixtral): found from any working directory, and its
/// perplexity on a committed excerpt equals what transformers computed (fixture from
/// tools/measure_default_model.py).
@Suite struct DefaultModelTests {
    @Test func loadsFromAnotherWorkingDirectory() throws {
        let previous = FileManager.default.currentDirectoryPath
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        FileManager.default.changeCurrentDirectoryPath(FileManager.default.temporaryDirectory.path)
        let directory = try DefaultModel.locate()
        let checkpoint = try Checkpoint(directory: directory)
        #expect(checkpoint.config.numExperts == 8 && checkpoint.config.numExpertsPerToken == 2)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("README.md").path))
    }

    @Test func perplexityOnTheExcerptMatchesTransformers() throws {
        let fixture = try JSONSerialization.jsonObject(
            with: Data(contentsOf: fixturesURL.appendingPathComponent("default-model-excerpt.json"))) as! [String: Any]
        let text = fixture["text"] as! String
        let expectedIDs = fixture["token_ids"] as! [Int]
        let expected = fixture["perplexity"] as! Double
        let directory = try DefaultModel.locate()
        let tokenizer = try Tokenizer(contentsOf: directory.appendingPathComponent("tokenizer.json"))
        #expect(tokenizer.encode(text, addBOS: true) == expectedIDs)
        let model = try MixtralModel(checkpoint: Checkpoint(directory: directory), precision: PrecisionSpec(uniform: .fp32))
        let (perplexity, tokens) = try Perplexity.evaluate(model: model, windows: [expectedIDs])
        #expect(tokens == expectedIDs.count - 1)
        #expect(abs(perplexity - expected) / expected < 1e-3, "ours \(perplexity), transformers \(expected)")
    }
}
