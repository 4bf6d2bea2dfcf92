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

    /// A checkpoint `quantize` wrote at hqq4 is described as it runs: hqq4 experts at about 4.25 bits per
    /// weight, one tensor per weight (codes, scales and zero-points are one weight's parts), as for q4. And
    /// `info --precision` on the original says beforehand, to the byte, how much data `quantize` writes
    /// (it counted hqq4 768 B short: nominal bits leave out each tensor's 8-byte zero-point range).
    @Test(arguments: ["hqq4", "q4", "nf4"])
    func aQuantizedCheckpointIsDescribedAsItRuns(precision: String) throws {
        try withTemporaryDirectory("info-quantized") { folder in
            let quantized = folder.appendingPathComponent(precision).path
            #expect(failure(["quantize", "--precision", precision, "--output", quantized]) == nil)
            let command = try #require(try MixtralLab.parseAsRoot(["info", "--model", quantized]) as? Info)
            var lines: [String] = []
            try command.run(printing: { lines.append($0) })
            let experts = try #require(lines.first { $0.hasPrefix("experts ") }).split(separator: " ")
            #expect(experts[1] == "96", "\(experts)")   // 4 layers × 8 experts × 3 projections
            let bits = try #require(Double(experts.last!))
            #expect(bits > 4 && bits < 5, "\(experts)")
            #expect(lines.contains { $0.contains("resident at \(precision)") }, "\(lines.suffix(3))")

            let estimate = try #require(try MixtralLab.parseAsRoot(["info", "--precision", precision]) as? Info)
            var estimateLines: [String] = []
            try estimate.run(printing: { estimateLines.append($0) })
            let total = try #require(estimateLines.first { $0.hasPrefix("total") }?.split(separator: " ").last.flatMap { Int($0) })
            // the data bytes of model.safetensors: its size without the 8-byte length and the JSON header
            let file = try Data(contentsOf: URL(fileURLWithPath: quantized).appendingPathComponent("model.safetensors"))
            let headerBytes = file.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            #expect(total == file.count - 8 - headerBytes, "\(precision): info says \(total), quantize wrote \(file.count - 8 - headerBytes)")
        }
    }
}
