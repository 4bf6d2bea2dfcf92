import Testing
import Foundation
import TestSupport

/// `export --output` into a folder that does not exist is refused, naming the folder, and creates nothing.
struct ExportTests {
    @Test func aMissingOutputFolderIsNamed() throws {
        try withTemporaryDirectory("export") { folder in
            let output = folder.appendingPathComponent("missing/sub/out.gguf")
            let result = failure(["export", "--precision", "q4", "--output", output.path])
            #expect(result?.code == 2)
            #expect(result?.message == "--output \(output.path): \(folder.path)/missing/sub: no such folder; create it first")
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("missing").path))
        }
    }

    /// A checkpoint `quantize` wrote is refused as one, not as a tensor whose shape disagrees with the config.
    @Test func aQuantizedCheckpointIsNamedAsOne() throws {
        try withTemporaryDirectory("export-quantized") { folder in
            let quantized = folder.appendingPathComponent("q4")
            #expect(failure(["quantize", "--precision", "q4", "--output", quantized.path]) == nil)
            let result = failure(["export", "--model", quantized.path, "--precision", "q4", "--output", folder.appendingPathComponent("out.gguf").path])
            #expect(result?.code == 2)
            #expect(result?.message.hasPrefix("--model \(quantized.path): export needs a checkpoint with float weights; this one stores ") == true, "\(String(describing: result))")
            #expect(result?.message.contains(" packed as q4 (written by mixtral-lab quantize") == true, "\(String(describing: result))")
        }
    }
}
