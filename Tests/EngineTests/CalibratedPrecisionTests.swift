import Testing
import Foundation
import Checkpoints
import Engine
import Quantization
import Tensors

/// `--precision experts=gptq4|awq4` on the default model: experts calibrated on the end of heldout.txt, stored
/// as Q4_0 blocks (AWQ with its input scales), and — lesson 11's finding at 4,096 calibration tokens — GPTQ's
/// experts closer to fp32 than round-to-nearest Q4_0's on the beginning of the text, beyond the noise.
@Suite(.serialized) struct CalibratedPrecisionTests {
    @Test func gptq4AndAwq4LoadAsQ4_0ExpertsAndGPTQBeatsRoundToNearest() throws {
        let directory = try DefaultModel.locate()
        let checkpoint = try Checkpoint(directory: directory)
        let tokenizer = try Tokenizer(contentsOf: directory.appendingPathComponent("tokenizer.json"))
        let text = try String(contentsOf: directory.appendingPathComponent("heldout.txt"), encoding: .utf8)
        let windows = Perplexity.windows(of: Array(tokenizer.encode(text, addBOS: false).prefix(2048)), length: 256, bos: 1)
        let fp32 = try MixtralModel(checkpoint: checkpoint, precision: PrecisionSpec(uniform: .fp32))
        let reference = try HeldoutReference(model: fp32, windows: windows)
        let rtn = try MixtralModel(checkpoint: checkpoint, precision: PrecisionSpec(parsing: "experts=q4"))
        let gptq = try MixtralModel(checkpoint: checkpoint, precision: PrecisionSpec(parsing: "experts=gptq4"))
        let awq = try MixtralModel(checkpoint: checkpoint, precision: PrecisionSpec(parsing: "experts=awq4"))
        #expect(gptq.layers[0].experts[0].w1.formatName == "gptq4" && gptq.layers[0].experts[0].w1.bitsPerWeight == 4.5)
        #expect(gptq.heldPrecision() == (try PrecisionSpec(parsing: "experts=gptq4")))
        #expect(awq.layers[0].experts[0].w2.formatName == "awq4")
        #expect(gptq.layers[0].attention.q.formatName == "fp32")
        let gain = HeldoutComparison.klDifference(try HeldoutComparison(reference: reference, candidate: rtn),
                                                  try HeldoutComparison(reference: reference, candidate: gptq))
        #expect(gain.value > 0 && !gain.includesZero, "KL(rtn) − KL(gptq4) = \(gain.formatted("%.5f"))")
    }

    @Test func calibratedPrecisionsAreRefusedOutsideTheExperts() throws {
        let checkpoint = try Checkpoint(directory: try DefaultModel.locate())
        #expect(throws: QuantizeError.self) { try MixtralModel(checkpoint: checkpoint, precision: PrecisionSpec([.attention: .gptq4])) }
        #expect(throws: PrecisionSpecError.calibratedOutsideExperts("gptq4", spec: "attn=gptq4")) { try PrecisionSpec(parsing: "attn=gptq4") }
        #expect(throws: PrecisionSpecError.calibratedOutsideExperts("awq4", spec: "awq4")) { try PrecisionSpec(parsing: "awq4") }
        #expect(try PrecisionSpec(parsing: "attn=int8,experts=awq4").precision(for: .experts) == .awq4)
        #expect(throws: QuantizeError.self) { try quantize(Matrix(rows: 1, cols: 32, values: [Float](repeating: 1, count: 32)), to: .awq4, tensorName: "w") }
    }
}
