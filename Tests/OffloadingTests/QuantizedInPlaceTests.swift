import Testing
import Foundation
import Checkpoints
import Engine
import Quantization
@testable import Offloading
import TestSupport

/// Experts of a checkpoint written by `mixtral-lab quantize` (`QuantizedCheckpointWriter`) read in place
/// (`ExpertSource.inPlace`), as a GGUF file's are (`GGUFInPlaceTests`): the Q8_0/Q4_0 blocks stored U8
/// `[rows, cols/32 · typeSize]`, gptq4's Q4_0 blocks, and tagged BF16/F16. awq4 keeps its input scale
/// beside the blocks, so it is not read in place.
@Suite(.serialized) struct QuantizedInPlaceTests {
    let prompt = [1, 17, 42, 5, 88, 23, 61, 9, 300, 7]
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("quantized-in-place") }

    /// The default model written by `quantize` at `precision`, in a folder of its own.
    private func quantized(_ precision: String) throws -> URL {
        let checkpoint = try Checkpoint(directory: DefaultModel.locate())
        let spec = try PrecisionSpec(parsing: precision)
        let folder = scratch.url.appendingPathComponent(precision.replacingOccurrences(of: "=", with: "-"))
        let calibration = try spec.precision(for: .experts).needsCalibration
            ? CalibrationText.heldout(beside: checkpoint, for: spec.precision(for: .experts), tokens: 64) : nil
        _ = try QuantizedCheckpointWriter.write(checkpoint, precision: spec, to: folder, overwrite: false, calibration: calibration)
        return folder
    }

    @Test(arguments: [("int8", ProjectionLayout.Format.q8_0), ("q4", .q4_0), ("experts=gptq4", .q4_0), ("bf16", .bf16), ("f16", .f16)])
    func inPlaceReadsGiveTheResidentLogits(precision: String, format: ProjectionLayout.Format) throws {
        let folder = try quantized(precision)
        let written = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        let checkpoint = try Checkpoint(directory: folder)
        // run as stored whatever the spec says, as loading does
        let spec = PrecisionSpec(uniform: .fp32)
        let source = try #require(try ExpertSource.inPlace(checkpoint, precision: spec), "\(precision)")
        let weights = folder.appendingPathComponent(QuantizedCheckpointWriter.weightsFile).path
        #expect(source.files.map(\.path) == [weights])
        #expect(source.layout.projections.allSatisfy { $0.format == format })
        try expectInPlaceSourceMatchesTheResidentModel(source, checkpoint: checkpoint, precision: spec, prompt: prompt, label: precision)
        // nothing but what quantize wrote in its folder: no store was written
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == written)
    }

    @Test func awq4ExpertsNeedTheirInputScaleSoAreNotReadInPlace() throws {
        let checkpoint = try Checkpoint(directory: quantized("experts=awq4"))
        #expect(checkpoint.storedPrecision(WeightNames.expert(0, 0, "w1")) == .awq4)
        #expect(try ExpertSource.inPlace(checkpoint, precision: PrecisionSpec(uniform: .fp32)) == nil)
    }
}
