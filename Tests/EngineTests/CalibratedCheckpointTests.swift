import Testing
import Foundation
import Checkpoints
import Engine
import Quantization
import Tensors
import TestSupport

/// `quantize` at `experts=gptq4|awq4` (issue #20 item 4): the checkpoint records its calibration text, size
/// and method settings, stores GPTQ's experts as Q4_0 blocks and AWQ's with their input scales, and loads back
/// to exactly the logits of the model calibrated in memory on the same text.
@Suite(.serialized) final class CalibratedCheckpointTests {
    let scratch: TemporaryDirectory
    init() throws { scratch = try TemporaryDirectory("calibrated-checkpoint") }

    static func logits(_ model: MixtralModel) throws -> [Float] {
        try model.forward([1, 50, 60, 70, 80, 90, 100, 200, 300, 400], session: Session(model: model), allLogits: true)
    }

    @Test(arguments: [Precision.gptq4, .awq4])
    func theWrittenCheckpointRunsAsTheModelCalibratedInMemory(_ method: Precision) throws {
        let checkpoint = try Checkpoint(directory: try DefaultModel.locate())
        let spec = try PrecisionSpec(parsing: "experts=\(method)")
        // 300 tokens of heldout.txt (two windows, the second short): a calibration of its own, not the default.
        let calibration = try CalibrationText.heldout(beside: checkpoint, for: method, tokens: 300)
        let folder = try scratch.newFolder()
        _ = try QuantizedCheckpointWriter.write(checkpoint, precision: spec, to: folder, overwrite: false, calibration: calibration)

        let written = try Checkpoint(directory: folder)
        let record = try #require(try written.calibrationRecord())
        let heldout = checkpoint.folder.appendingPathComponent("heldout.txt")
        #expect(record == CalibrationRecord(method: method, text: heldout.path, textSHA256: SHA256.hex(try Data(contentsOf: heldout)),
                                            textBytes: try Data(contentsOf: heldout).count, tokens: 300, windowTokens: 256,
                                            parameters: method == .gptq4 ? GPTQ.parameters : AWQ.parameters))
        #expect(written.storedPrecision(WeightNames.expert(1, 3, "w2")) == method)
        #expect(written.storedPrecision(WeightNames.qProj(0)) == nil)
        #expect((written.info(QuantizedTensorLayout.awqInputScale(WeightNames.expert(0, 0, "w1"))) != nil) == (method == .awq4))

        let inMemory = try MixtralModel(checkpoint: checkpoint, precision: spec, calibration: calibration)
        let loaded = try MixtralModel(checkpoint: written, precision: PrecisionSpec(uniform: .fp32))
        #expect(loaded.heldPrecision() == spec)
        let expected = try Self.logits(inMemory), actual = try Self.logits(loaded)
        #expect(expected.map(\.bitPattern) == actual.map(\.bitPattern), "\(method): logits differ by up to \(zip(expected, actual).map { abs($0 - $1) }.max()!)")
        // The default calibration (4,096 tokens) gives other experts: the record is not decoration.
        let byDefault = try MixtralModel(checkpoint: checkpoint, precision: spec)
        #expect(try Self.logits(byDefault) != expected)
        // Asking a stored calibrated checkpoint for gptq4/awq4 runs it as stored (no heldout.txt there to calibrate on).
        #expect(try Self.logits(try MixtralModel(checkpoint: written, precision: spec)).map(\.bitPattern) == expected.map(\.bitPattern))
    }

    @Test func calibrationTextProblemsAreNamed() throws {
        let checkpoint = try Checkpoint(directory: try DefaultModel.locate())
        let tokenizer = try CalibrationText.tokenizer(beside: checkpoint, for: .gptq4)
        #expect(throws: CalibrationTextError.tokenCount(0)) { try CalibrationText(data: Data("to be".utf8), path: "t", tokenizer: tokenizer, tokens: 0) }
        #expect(throws: CalibrationTextError.empty(path: "t")) { try CalibrationText(data: Data(), path: "t", tokenizer: tokenizer, tokens: 1) }
        #expect(throws: CalibrationTextError.notText(path: "t")) { try CalibrationText(data: Data([0xff, 0xfe, 0x80]), path: "t", tokenizer: tokenizer, tokens: 1) }
        let short = tokenizer.encode("to be or not", addBOS: false).count
        #expect(throws: CalibrationTextError.tooShort(path: "t", has: short, asked: 100)) {
            try CalibrationText(data: Data("to be or not".utf8), path: "t", tokenizer: tokenizer, tokens: 100)
        }
    }

    @Test func anAWQScaleWithoutItsRecordIsRefused() throws {
        let checkpoint = try Checkpoint(directory: try DefaultModel.locate())
        let folder = try scratch.newFolder()
        _ = try QuantizedCheckpointWriter.write(checkpoint, precision: try PrecisionSpec(parsing: "experts=awq4"), to: folder, overwrite: false,
                                                calibration: try CalibrationText.heldout(beside: checkpoint, for: .awq4, tokens: 64))
        // The same tensors without the record: the input scales would be silently ignored.
        let written = try Checkpoint(directory: folder)
        var writer = SafeTensorsWriter(metadata: written.files[0].metadata.filter { $0.key != CalibrationRecord.metadataKey })
        for name in written.tensorNames {
            let info = written.info(name)!
            writer.add(name, dtype: info.dtype, shape: info.shape, bytes: Array(try written.rawBytes(name).1))
        }
        try writer.write(to: folder.appendingPathComponent("model.safetensors"))
        let stripped = try Checkpoint(directory: folder)
        #expect(throws: CheckpointError.self) { try MixtralModel(checkpoint: stripped, precision: PrecisionSpec(uniform: .fp32)) }
    }
}
