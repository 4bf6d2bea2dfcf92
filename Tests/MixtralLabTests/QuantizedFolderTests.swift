import Checkpoints
import Foundation
import Quantization
import Testing
import TestSupport
@testable import mixtral_lab

/// Class 5 of issue #18: `info` on a folder written by `quantize` states what runs (the loaded model's
/// `heldPrecision()`) and its bytes as stored, for every stored form.
struct InfoOnQuantizedFolderTests {
    static let folders = try! TemporaryDirectory.untilExit("info-quantized")

    @Test(arguments: ["q4", "int8", "nf4", "nf4-dq", "bf16", "attn=int8,experts=q4"])
    func infoNamesWhatRuns(_ precision: String) throws {
        let folder = Self.folders.appendingPathComponent(precision)
        #expect(failure(["quantize", "--precision", precision, "--output", folder.path, "--force"]) == nil)
        let model = try loadModel(try Checkpoint(directory: folder), precision: PrecisionSpec(uniform: .fp32))
        let held = try #require(model.heldPrecision())
        let command = try #require(try MixtralLab.parseAsRoot(["info", "--model", folder.path]) as? Info)
        var lines: [String] = []
        try command.run(printing: { lines.append($0) })
        let summary = try #require(lines.first { $0.contains("MiB stored") })
        #expect(summary.hasSuffix("resident at \(held) (scales included)"), "\(summary)")
        // everything runs as stored: the resident bytes are the stored bytes
        let numbers = summary.split(separator: " ").compactMap { Double($0) }
        #expect(numbers.count == 2 && numbers[0] == numbers[1], "\(summary)")
        #expect(lines.contains { $0.contains("they run as stored whatever --precision asks: fp32 asked") })
    }

    @Test func anUnquantizedFolderRunsAtPrecision() throws {
        let command = try #require(try MixtralLab.parseAsRoot(["info", "--precision", "q4"]) as? Info)
        var lines: [String] = []
        try command.run(printing: { lines.append($0) })
        let summary = try #require(lines.first { $0.contains("MiB stored") })
        #expect(summary.hasSuffix("resident at \(try PrecisionSpec(parsing: "q4")) (scales included)"), "\(summary)")
    }
}

/// Class 6 of issue #18: `quantize` refuses a source whose quantized copy would not load, before writing
/// anything, instead of writing a folder that `--model DIR` cannot use.
struct QuantizeSourceTests {
    let scratch = try! TemporaryDirectory("quantize-source")

    @Test(arguments: ["fp32", "q4"])
    func aGGUFFileIsRefused(_ exported: String) throws {
        let gguf = scratch.url.appendingPathComponent("\(exported).gguf")
        #expect(failure(["export", "--precision", exported, "--output", gguf.path]) == nil)
        let output = scratch.url.appendingPathComponent("out")
        let result = failure(["quantize", "--model", gguf.path, "--precision", "q4", "--output", output.path])
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("--model \(gguf.path) is a GGUF file, which has no config.json and tokenizer.json") == true,
                "\(String(describing: result))")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func aQuantizedFolderGenerates() throws {
        let output = scratch.url.appendingPathComponent("q4")
        #expect(failure(["quantize", "--precision", "q4", "--output", output.path]) == nil)
        for name in ["config.json", "tokenizer.json", "model.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path))
        }
        #expect(failure(["generate", "--model", output.path, "--max-tokens", "2"]) == nil)
    }

    /// A stale shard index in the output folder would be loaded instead of the written model.safetensors
    /// (review9 F7): refused before anything is written, with or without --force, and the index kept.
    @Test(arguments: [[], ["--force"]])
    func aShardIndexInTheOutputFolderIsRefused(_ force: [String]) throws {
        let output = scratch.url.appendingPathComponent("stale-index\(force.count)")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let index = output.appendingPathComponent("model.safetensors.index.json")
        try Data(#"{"weight_map":{}}"#.utf8).write(to: index)
        let result = failure(["quantize", "--precision", "q4", "--output", output.path] + force)
        #expect(result?.code == 2)
        #expect(result?.message == "--output \(output.path): \(index.path) exists, and a folder with it loads the shards it lists instead of the model.safetensors written here; remove it (it is not replaced, even with --force) or choose another folder",
                "\(String(describing: result))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path) == ["model.safetensors.index.json"])
    }
}
