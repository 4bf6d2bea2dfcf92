import Testing
import Foundation
import TestSupport
import Checkpoints
import Quantization
@testable import mixtral_lab

/// `info` on a GGUF file with Q4_0 weights labels the resident bytes by what runs (the loaded model's
/// `heldPrecision()`), not by `--precision`.
struct InfoLabelTests {
    @Test func residentBytesAreLabelledByWhatRuns() throws {
        try withTemporaryDirectory("info-label") { folder in
            let gguf = folder.appendingPathComponent("q4.gguf").path
            #expect(failure(["export", "--format", "gguf", "--precision", "q4", "--output", gguf]) == nil)
            let model = try loadModel(try Checkpoint(directory: URL(fileURLWithPath: gguf)), precision: PrecisionSpec(uniform: .fp32))
            let held = try #require(model.heldPrecision())
            #expect(held != PrecisionSpec(uniform: .fp32))

            let command = try #require(try MixtralLab.parseAsRoot(["info", "--model", gguf]) as? Info)
            var lines: [String] = []
            try command.run(printing: { lines.append($0) })
            #expect(lines.contains { $0.hasPrefix("tensor class") && $0.contains("bytes as run") })
            #expect(lines.contains { $0.contains("MiB resident at \(held) (scales included)") }, "\(lines.suffix(3))")
            #expect(lines.contains { $0.contains("they run as stored whatever --precision asks: fp32 asked") })
            #expect(!lines.contains { $0.contains("at fp32") })
        }
    }
}
