import Foundation
import Testing
import Checkpoints
import Engine
import Quantization
import TestSupport

/// Our engine on the default model exported to GGUF against llama.cpp on the same file: llama.cpp's
/// logits were recorded by `tools/make_gguf_fixtures.py` (tools/llama_cpp_logits.py, llama-cpp-python) on
/// the files `mixtral-lab export` writes; the test exports again (the export is deterministic; the
/// byte count is checked) and runs our engine.
@Suite struct GGUFLlamaCppTests {
    struct Recorded {
        let tokens: [Int]
        let positions: [Int]
        /// `[positions][vocab]`
        let logits: [[Float]]
        let ggufBytes: Int

        init(_ precision: GGUFExportPrecision) throws {
            let url = fixturesURL.appendingPathComponent("gguf/llama-cpp-default-\(precision.rawValue).json")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            tokens = json["tokens"] as! [Int]
            positions = json["positions"] as! [Int]
            logits = (json["logits"] as! [[Double]]).map { $0.map(Float.init) }
            ggufBytes = json["gguf_bytes"] as! Int
        }
    }

    /// Our logits `[positions][vocab]` on the default model exported at `precision`, at the recorded positions.
    static func engineLogits(_ precision: GGUFExportPrecision, _ recorded: Recorded) throws -> [[Float]] {
        try withTemporaryDirectory("gguf-llama") { folder in
            let url = folder.appendingPathComponent("default-\(precision.rawValue).gguf")
            let report = try GGUFExport.write(Checkpoint(directory: DefaultModel.locate()), precision: precision, to: url, overwrite: false)
            #expect(report.bytes == recorded.ggufBytes)
            let model = try MixtralModel(checkpoint: Checkpoint(directory: url), precision: PrecisionSpec(parsing: "fp32"))
            let all = try model.forward(recorded.tokens, session: Session(model: model), allLogits: true)
            let vocab = model.config.vocabSize
            return recorded.positions.map { Array(all[($0 * vocab)..<(($0 + 1) * vocab)]) }
        }
    }

    static func maxDifference(_ a: [[Float]], _ b: [[Float]]) -> Float {
        zip(a, b).map { zip($0, $1).map { abs($0 - $1) }.max()! }.max()!
    }

    static func argmax(_ row: [Float]) -> Int { row.indices.max { row[$0] < row[$1] }! }

    @Test func fp32MatchesLlamaCppWithin1e3() throws {
        let recorded = try Recorded(.fp32)
        let ours = try Self.engineLogits(.fp32, recorded)
        let difference = Self.maxDifference(ours, recorded.logits)
        print("GGUF fp32: max |mixtral-lab − llama.cpp| over \(recorded.positions.count) positions × \(ours[0].count) logits = \(difference)")
        #expect(difference <= 1e-3)
        #expect(ours.map(Self.argmax) == recorded.logits.map(Self.argmax))
    }

    /// llama.cpp's Q4_0 dot products quantize the activations to 8 bits (ggml-cpu `vec_dot_q4_0_q8_0`);
    /// ours multiply the decoded weights with fp32 activations. Same weights, so the two stay far closer
    /// to each other than either is to fp32 (measured on the default model: 0.12 against 1.27).
    @Test func q4DiffersFromLlamaCppOnlyByItsActivationRounding() throws {
        let recorded = try Recorded(.q4)
        let ours = try Self.engineLogits(.q4, recorded)
        let fp32 = try Self.engineLogits(.fp32, try Recorded(.fp32))
        let difference = Self.maxDifference(ours, recorded.logits)
        let quantizationError = Self.maxDifference(ours, fp32)
        print("GGUF q4: max |mixtral-lab − llama.cpp| = \(difference); max |q4 − fp32| (our engine) = \(quantizationError)")
        #expect(difference < quantizationError / 4)
        #expect(ours.map(Self.argmax) == recorded.logits.map(Self.argmax))
    }

    /// With `--activations q8` our q4 products round the activations to Q8_0 as llama.cpp does and follow
    /// the arithmetic of llama.cpp's Q4_0 kernels on AVX2 (exact integer block sums, one fused multiply-add
    /// per block in block order; CKernels.h), so positions 16–18 agree with llama.cpp bit for bit.
    /// Position 19 is 0.013 apart because of a single rounding: in layer 1 the attention output entering
    /// the o projection has, at token 19, element 72 (head 3, dimension 0) at 26.4999981 code units after
    /// scaling by 127/amax — one ulp (1.9·10⁻⁶) below the tie 26.5 — so we round it to 26 and llama.cpp,
    /// whose attention lands on the other side of the tie, to 27. Changing that one code to 27 in our engine
    /// (an experiment, not in the code) makes all four positions identical to llama.cpp's, bit for bit. The
    /// last-bit difference in the attention output itself is not a kernel matter: llama.cpp computes the
    /// softmax with its own exp polynomial (ggml-cpu vec.h `ggml_v_expf`) and an fp64 sum, and the q·k and
    /// p·v products with its own fp32 summation orders; copying those would tie the engine's attention to
    /// one llama.cpp build. So: the positions without such a tie within 1e-6, every position within 0.02,
    /// far closer than with fp32 activations (0.12).
    @Test func q4WithRoundedActivationsMatchesLlamaCppUpToOneNearTieRounding() throws {
        let recorded = try Recorded(.q4)
        let ours = try ActivationPrecision.$current.withValue(.q8) { try Self.engineLogits(.q4, recorded) }
        let perPosition = zip(ours, recorded.logits).map { Self.maxDifference([$0], [$1]) }
        print("GGUF q4, activations q8: max |mixtral-lab − llama.cpp| per position = \(perPosition)")
        #expect(Array(perPosition.prefix(3)).allSatisfy { $0 <= 1e-6 })   // positions 16–18: measured 0
        #expect(perPosition[3] <= 0.02)                                    // position 19: the near tie
        #expect(ours.map(Self.argmax) == recorded.logits.map(Self.argmax))
    }
}
