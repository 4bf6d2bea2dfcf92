import Testing
import Foundation
import Tensors
import Checkpoints
import Engine
import Quantization
import TestSupport

/// `QuantizedCheckpointWriter` (`mixtral-lab quantize`): the written checkpoint loads to the model that
/// in-memory quantization of the original gives, its NF4 tensors are bitsandbytes' serialization of
/// `NF4Matrix`, and malformed quantized tensors are refused with the tensor and the problem named.
@Suite final class QuantizedCheckpointTests {
    /// This test's folder, removed when the test ends.
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("quantized-checkpoint") }

    /// A random-weight Mixtral checkpoint (hidden 64, intermediate 128, vocab 64, 2 layers, 4 experts,
    /// tied embeddings), widths multiples of 64 so that every precision applies.
    func randomCheckpoint() throws -> Checkpoint {
        let folder = try scratch.newFolder()
        let config: [String: Any] = [
            "model_type": "mixtral", "architectures": ["MixtralForCausalLM"], "vocab_size": 64, "hidden_size": 64,
            "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "num_local_experts": 4, "num_experts_per_tok": 2, "rms_norm_eps": 1e-5, "rope_theta": 1e6,
            "max_position_embeddings": 64, "tie_word_embeddings": true, "hidden_act": "silu",
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("config.json"))
        var generator = SystemRandomNumberGenerator()
        var writer = SafeTensorsWriter()
        func add(_ name: String, _ shape: [Int], around center: Float = 0) {
            let values = (0..<shape.reduce(1, *)).map { _ in center + Float.random(in: -0.2...0.2, using: &generator) }
            writer.add(name, shape: shape, floats: values)
        }
        add(WeightNames.embedding, [64, 64])
        add(WeightNames.finalNorm, [64], around: 1)
        for l in 0..<2 {
            add(WeightNames.inputNorm(l), [64], around: 1)
            add(WeightNames.postAttentionNorm(l), [64], around: 1)
            add(WeightNames.qProj(l), [64, 64])
            add(WeightNames.kProj(l), [32, 64])
            add(WeightNames.vProj(l), [32, 64])
            add(WeightNames.oProj(l), [64, 64])
            add(WeightNames.router(l), [4, 64])
            for e in 0..<4 {
                add(WeightNames.expert(l, e, "w1"), [128, 64])
                add(WeightNames.expert(l, e, "w3"), [128, 64])
                add(WeightNames.expert(l, e, "w2"), [64, 128])
            }
        }
        try writer.write(to: folder.appendingPathComponent("model.safetensors"))
        return try Checkpoint(directory: folder)
    }

    /// Logits of every position of a fixed prompt.
    static func logits(_ model: MixtralModel) throws -> [Float] {
        let tokens = [1, 5, 9, 2, 33, 17, 8, 40].map { $0 % model.config.vocabSize }
        return try model.forward(tokens, session: Session(model: model), allLogits: true)
    }

    static func bitPatterns(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    /// Quantizes `checkpoint` at `spec` to a new folder and checks that loading the folder (at fp32: the
    /// stored precisions win) gives bit-identical logits to loading the original at `spec`.
    func expectIdenticalLogits(_ checkpoint: Checkpoint, spec: String) throws -> Checkpoint {
        let precision = try PrecisionSpec(parsing: spec)
        let output = try scratch.newFolder().appendingPathComponent("out")
        _ = try QuantizedCheckpointWriter.write(checkpoint, precision: precision, to: output, overwrite: false)
        let written = try Checkpoint(directory: output)
        let expected = try Self.logits(MixtralModel(checkpoint: checkpoint, precision: precision))
        let actual = try Self.logits(MixtralModel(checkpoint: written, precision: PrecisionSpec(uniform: .fp32)))
        #expect(Self.bitPatterns(actual) == Self.bitPatterns(expected), "\(spec): logits of the written checkpoint differ")
        return written
    }

    @Test(arguments: ["int8", "q4", "nf4", "nf4-dq", "attn=hqq4,experts=hqq2,embed=hqq3,head=hqq4-f16meta"])
    func defaultModelLoadsBackToIdenticalLogits(spec: String) throws {
        let checkpoint = try Checkpoint(directory: DefaultModel.locate())
        let written = try expectIdenticalLogits(checkpoint, spec: spec)
        #expect(FileManager.default.fileExists(atPath: written.directory.appendingPathComponent("tokenizer.json").path))
        // and it is not the fp32 model
        let fp32 = try Self.logits(MixtralModel(checkpoint: checkpoint, precision: PrecisionSpec(uniform: .fp32)))
        #expect(Self.bitPatterns(try Self.logits(MixtralModel(checkpoint: written, precision: PrecisionSpec(uniform: .fp32))))
                != Self.bitPatterns(fp32))
    }

    @Test(arguments: ["attn=q4,experts=nf4,router=bf16,embed=int8,head=nf4-dq", "f16", "bf16,router=int8", "nf4,head=nf4",
                      "attn=hqq4,experts=hqq2,router=hqq3,embed=hqq2-f16meta,head=hqq3-f16meta"])
    func mixedSpecsAndTiedHeadLoadBackToIdenticalLogits(spec: String) throws {
        let written = try expectIdenticalLogits(try randomCheckpoint(), spec: spec)
        let precision = try PrecisionSpec(parsing: spec)
        // a tied head at its own precision is written out; at the embedding's precision it is not
        #expect((written.info(WeightNames.lmHead) != nil) == (precision.precision(for: .head) != precision.precision(for: .embedding)))
        // norms stay F32
        #expect(written.info(WeightNames.finalNorm)?.dtype == .f32)
    }

    @Test func nf4TensorsAreBitsandbytesSerializationOfNF4Matrix() throws {
        let checkpoint = try randomCheckpoint()
        let name = WeightNames.expert(1, 2, "w2")
        let original = try checkpoint.matrix(name, rows: 64, cols: 128)
        for doubleQuantization in [false, true] {
            let output = try scratch.newFolder()
            _ = try QuantizedCheckpointWriter.write(checkpoint, precision: PrecisionSpec(uniform: doubleQuantization ? .nf4dq : .nf4),
                                                    to: output, overwrite: true)
            let file = try SafeTensorsFile(url: output.appendingPathComponent("model.safetensors"))
            let reference = try NF4Matrix(quantizing: original, tensorName: name, doubleQuantization: doubleQuantization)
            func bytes(_ tensor: String) -> [UInt8] { Array(file.rawBytes(file.tensors[tensor]!)) }
            #expect(file.tensors[name]?.dtype == .u8 && file.tensors[name]?.shape == [64 * 128 / 2, 1])
            #expect(bytes(name) == reference.packed)
            #expect(try file.floats(name + ".quant_map") == NF4.codebook)
            let state = String(decoding: bytes(name + ".quant_state.bitsandbytes__nf4"), as: UTF8.self)
            switch reference.absmax {
            case .plain(let absmax):
                #expect(Self.bitPatterns(try file.floats(name + ".absmax")) == Self.bitPatterns(absmax))
                // bitsandbytes 0.50.2: bytes(quantize_4bit(w, 64, quant_type="nf4")[1].as_dict(packed=True)[…])
                #expect(state == #"{"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [64, 128]}"#)
                #expect(file.tensors[name + ".nested_absmax"] == nil)
            case .doubleQuantized(let dq):
                #expect(bytes(name + ".absmax") == dq.codes)
                #expect(Self.bitPatterns(try file.floats(name + ".nested_absmax")) == Self.bitPatterns(dq.absmax2))
                #expect(try file.floats(name + ".nested_quant_map") == DynamicMap.signed)
                #expect(state == #"{"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [64, 128], "#
                        + #""nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": \#(Double(dq.offset))}"#)
            }
        }
    }

    @Test func hqqTensorsArePackedCodesWithTheirScalesAndZeros() throws {
        let checkpoint = try randomCheckpoint()
        let name = WeightNames.expert(1, 2, "w2")
        let reference = try HQQMatrix(quantizing: try checkpoint.matrix(name, rows: 64, cols: 128), tensorName: name,
                                      settings: Precision.hqq2.hqqSettings!)
        let output = try scratch.newFolder()
        _ = try QuantizedCheckpointWriter.write(checkpoint, precision: PrecisionSpec(uniform: .hqq2), to: output, overwrite: true)
        let file = try SafeTensorsFile(url: output.appendingPathComponent("model.safetensors"))
        #expect(file.metadata[name] == "HQQ2_G16_S128" && file.metadata[QuantizedTensorLayout.formatKey] == "ggml")
        #expect(file.tensors[name]?.shape == [64, 128 * 2 / 8] && Array(file.rawBytes(file.tensors[name]!)) == reference.packed)
        guard case .quantized(let scales, let zeros) = reference.parameters else { Issue.record("hqq2 stores 8-bit scales"); return }
        #expect(Array(file.rawBytes(file.tensors[name + ".hqq_scale"]!)) == scales.codes)
        #expect(Array(file.rawBytes(file.tensors[name + ".hqq_zero"]!)) == zeros.codes)
        #expect(try file.floats(name + ".hqq_scale_meta") == scales.scales + scales.zeros)
        #expect(try file.floats(name + ".hqq_zero_meta") == zeros.scales + zeros.zeros)
        // the type name gives the settings back
        #expect(QuantizedTensorLayout.hqqSettings(typeName: "HQQ4_G64_F16")! == (4, 64, nil))
        #expect(QuantizedTensorLayout.hqqSettings(typeName: "HQQ4_X64_F16") == nil)
    }

    @Test func ggmlTensorsAreBlocksNamedInMetadata() throws {
        let checkpoint = try randomCheckpoint()
        let output = try scratch.newFolder()
        _ = try QuantizedCheckpointWriter.write(checkpoint, precision: PrecisionSpec(parsing: "attn=int8,experts=q4"), to: output, overwrite: true)
        let file = try SafeTensorsFile(url: output.appendingPathComponent("model.safetensors"))
        let q = WeightNames.qProj(0), w2 = WeightNames.expert(0, 1, "w2")
        #expect(file.metadata["mixtral-lab.format"] == "ggml" && file.metadata[q] == "Q8_0" && file.metadata[w2] == "Q4_0")
        #expect(file.tensors[q]?.shape == [64, 64 / 32 * 34] && file.tensors[w2]?.shape == [64, 128 / 32 * 18])
        let reference = try Q4_0Matrix(quantizing: checkpoint.matrix(w2, rows: 64, cols: 128), tensorName: w2)
        #expect(Array(file.rawBytes(file.tensors[w2]!)) == reference.blocks)
    }

    @Test func refusesToOverwriteWithoutForce() throws {
        let checkpoint = try randomCheckpoint()
        let output = try scratch.newFolder()
        _ = try QuantizedCheckpointWriter.write(checkpoint, precision: PrecisionSpec(uniform: .q4), to: output, overwrite: false)
        #expect(throws: CheckpointWriteError.wouldOverwrite(path: output.appendingPathComponent("config.json").path)) {
            try QuantizedCheckpointWriter.write(checkpoint, precision: PrecisionSpec(uniform: .q4), to: output, overwrite: false)
        }
        #expect(throws: CheckpointWriteError.outputIsInput(path: checkpoint.directory.path)) {
            try QuantizedCheckpointWriter.write(checkpoint, precision: PrecisionSpec(uniform: .q4), to: checkpoint.directory, overwrite: true)
        }
        // an already quantized checkpoint is not quantized again
        let quantized = try Checkpoint(directory: output)
        #expect(throws: CheckpointError.self) {
            try QuantizedCheckpointWriter.write(quantized, precision: PrecisionSpec(uniform: .q4), to: try scratch.newFolder(), overwrite: true)
        }
    }

    @Test func outputPathsAreCheckedBeforeQuantizing() throws {
        let checkpoint = try randomCheckpoint()
        let q4 = PrecisionSpec(uniform: .q4)
        let file = scratch.url.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        #expect(throws: CheckpointWriteError.notAFolder(path: file.path)) {
            try QuantizedCheckpointWriter.write(checkpoint, precision: q4, to: file, overwrite: true) { _, _ in
                Issue.record("quantized before refusing the output")
            }
        }
        // a folder where model.safetensors goes is refused even with overwrite, and nothing is written
        let output = try scratch.newFolder()
        let weights = output.appendingPathComponent(QuantizedCheckpointWriter.weightsFile)
        try FileManager.default.createDirectory(at: weights, withIntermediateDirectories: false)
        #expect(throws: CheckpointWriteError.isAFolder(path: weights.path)) {
            try QuantizedCheckpointWriter.write(checkpoint, precision: q4, to: output, overwrite: true) { _, _ in
                Issue.record("quantized before refusing the output")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path) == [QuantizedCheckpointWriter.weightsFile])
    }

    @Test func aLeftoverPartialFileDoesNotBlockARetry() throws {
        let checkpoint = try randomCheckpoint()
        let output = try scratch.newFolder()
        let partial = output.appendingPathComponent(QuantizedCheckpointWriter.weightsFile + ".partial")
        try Data("half a file from an interrupted run".utf8).write(to: partial)
        _ = try QuantizedCheckpointWriter.write(checkpoint, precision: PrecisionSpec(uniform: .q4), to: output, overwrite: false)
        // each write has a partial file of its own, so another run's (or a killed run's) is left alone
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path).sorted()
                == ["config.json", "model.safetensors", "model.safetensors.partial"])
        _ = try MixtralModel(checkpoint: Checkpoint(directory: output), precision: PrecisionSpec(parsing: "fp32"))
    }

    @Test func aFailedWeightsWriteLeavesNoSmallFiles() throws {
        let checkpoint = try randomCheckpoint()
        let output = try scratch.newFolder()
        // a weights file appears while quantizing: the write fails after quantizing, before any small file
        let weights = output.appendingPathComponent(QuantizedCheckpointWriter.weightsFile)
        #expect(throws: CheckpointWriteError.wouldOverwrite(path: weights.path)) {
            try QuantizedCheckpointWriter.write(checkpoint, precision: PrecisionSpec(uniform: .q4), to: output, overwrite: false) { done, _ in
                if done == 1 { try? Data("another run's".utf8).write(to: weights) }
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path) == [weights.lastPathComponent])
    }

    /// Copies the written checkpoint at `spec` with `edit` applied to its tensors and metadata, then
    /// returns the error loading the copy throws.
    func loadError(spec: String, edit: (inout [String: (TensorDType, [Int], [UInt8])], inout [String: String]) -> Void) throws -> String {
        let source = try randomCheckpoint()
        let output = try scratch.newFolder()
        _ = try QuantizedCheckpointWriter.write(source, precision: PrecisionSpec(parsing: spec), to: output, overwrite: true)
        let url = output.appendingPathComponent("model.safetensors")
        var tensors: [String: (TensorDType, [Int], [UInt8])] = [:]
        var metadata: [String: String] = [:]
        do {
            let file = try SafeTensorsFile(url: url)
            for (name, info) in file.tensors { tensors[name] = (info.dtype, info.shape, Array(file.rawBytes(info))) }
            metadata = file.metadata
        }
        edit(&tensors, &metadata)
        var writer = SafeTensorsWriter(metadata: metadata)
        for (name, tensor) in tensors.sorted(by: { $0.key < $1.key }) { writer.add(name, dtype: tensor.0, shape: tensor.1, bytes: tensor.2) }
        try writer.write(to: url)
        do {
            _ = try MixtralModel(checkpoint: Checkpoint(directory: output), precision: PrecisionSpec(uniform: .fp32))
        } catch let error as CheckpointError {
            return error.description
        }
        Issue.record("the malformed checkpoint loaded")
        return ""
    }

    @Test func malformedQuantizedTensorsAreRefusedNamingTensorAndProblem() throws {
        let q = WeightNames.qProj(1)
        let missingAbsmax = try loadError(spec: "nf4") { tensors, _ in tensors[q + ".absmax"] = nil }
        #expect(missingAbsmax.contains("tensor \(q):") && missingAbsmax.contains("\(q).absmax is missing"), "\(missingAbsmax)")

        let shortAbsmax = try loadError(spec: "nf4") { tensors, _ in
            tensors[q + ".absmax"] = (.f32, [3], [UInt8](repeating: 0, count: 12))
        }
        #expect(shortAbsmax.contains("tensor \(q).absmax:") && shortAbsmax.contains("3 elements"), "\(shortAbsmax)")

        let shortNested = try loadError(spec: "nf4-dq") { tensors, _ in tensors[q + ".nested_absmax"] = (.f32, [0], []) }
        #expect(shortNested.contains("tensor \(q).nested_absmax:") && shortNested.contains("expected 1"), "\(shortNested)")

        let wrongShape = try loadError(spec: "nf4") { tensors, _ in
            let state = #"{"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [32, 128]}"#
            tensors[q + ".quant_state.bitsandbytes__nf4"] = (.u8, [state.utf8.count], Array(state.utf8))
        }
        #expect(wrongShape.contains("quant_state shape [32, 128] does not match the config's [64, 64]"), "\(wrongShape)")

        let fp4 = try loadError(spec: "nf4") { tensors, _ in
            tensors[q + ".quant_state.bitsandbytes__fp4"] = tensors.removeValue(forKey: q + ".quant_state.bitsandbytes__nf4")
        }
        #expect(fp4.contains("mixtral-lab reads only nf4"), "\(fp4)")

        let unknownFormat = try loadError(spec: "int8") { _, metadata in metadata[q] = "Q5_K" }
        #expect(unknownFormat.contains("tensor \(q):") && unknownFormat.contains("unknown format \"Q5_K\""), "\(unknownFormat)")

        let truncatedBlocks = try loadError(spec: "q4") { tensors, _ in tensors[q] = (.u8, [64, 35], [UInt8](repeating: 0, count: 64 * 35)) }
        #expect(truncatedBlocks.contains("Q4_0 block shape is [64, 35], expected [64, 36]"), "\(truncatedBlocks)")

        let untagged = try loadError(spec: "int8") { _, metadata in metadata[q] = nil }
        #expect(untagged.contains("tensor \(q): is U8 packed data but has neither"), "\(untagged)")
    }
}
