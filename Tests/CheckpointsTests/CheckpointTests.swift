import Testing
import Foundation
@testable import Checkpoints
import TestSupport

private var baseConfig: [String: Any] { [
    "model_type": "mixtral", "vocab_size": 10, "hidden_size": 4, "intermediate_size": 6,
    "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
    "num_local_experts": 2, "num_experts_per_tok": 1, "rms_norm_eps": 1e-5, "rope_theta": 1e6,
    "max_position_embeddings": 32, "sliding_window": NSNull(), "tie_word_embeddings": false,
    "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32",
] }

private func parse(_ json: [String: Any]) throws -> MixtralConfig {
    try MixtralConfig(json: JSONSerialization.data(withJSONObject: json), path: "config.json")
}

@Suite struct ConfigTests {
    @Test func hubSpellingAndTransformers5SpellingAgree() throws {
        let hub = try parse(baseConfig)
        var v5 = baseConfig
        v5.removeValue(forKey: "rope_theta")
        v5.removeValue(forKey: "torch_dtype")
        v5["rope_parameters"] = ["rope_theta": 1e6, "rope_type": "default"]
        v5["dtype"] = "float32"
        #expect(try parse(v5) == hub)
        #expect(hub.ropeTheta == 1e6 && hub.slidingWindow == nil && hub.headDim == 2)
    }

    @Test func missingKeyIsNamed() throws {
        var json = baseConfig
        json.removeValue(forKey: "num_local_experts")
        #expect(throws: CheckpointError.missingConfigKey(path: "config.json", key: "num_local_experts")) { try parse(json) }
        json = baseConfig
        json.removeValue(forKey: "rope_theta")
        #expect(throws: CheckpointError.missingConfigKey(path: "config.json", key: "rope_theta")) { try parse(json) }
    }

    @Test func otherModelTypeIsRejected() throws {
        var json = baseConfig
        json["model_type"] = "llama"
        #expect(throws: CheckpointError.unsupportedModelType(path: "config.json", modelType: "llama")) { try parse(json) }
    }

    @Test func inconsistentShapesAreRejected() throws {
        var json = baseConfig
        json["num_experts_per_tok"] = 3
        #expect(throws: CheckpointError.self) { try parse(json) }
        json = baseConfig
        json["num_key_value_heads"] = 3
        #expect(throws: CheckpointError.self) { try parse(json) }
        json = baseConfig
        json["hidden_size"] = "four"
        do { _ = try parse(json); Issue.record("expected an error") } catch { #expect("\(error)".contains("hidden_size")) }
    }

    @Test func eosAsListTakesTheFirst() throws {
        var json = baseConfig
        json["eos_token_id"] = [2, 7]
        #expect(try parse(json).eosTokenID == 2)
    }
}

@Suite struct CheckpointDirectoryTests {
    /// This test's folder, removed when the test ends.
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("ckpt") }

    /// A checkpoint directory with config.json and one safetensors file holding `tensors`.
    private func makeCheckpoint(tensors: [String: [Float]], shapes: [String: [Int]], sharded: Bool = false) throws -> URL {
        let dir = try scratch.newFolder()
        try JSONSerialization.data(withJSONObject: baseConfig).write(to: dir.appendingPathComponent("config.json"))
        var header: [String: Any] = [:]
        var data: [UInt8] = []
        for name in tensors.keys.sorted() {
            let bytes = tensors[name]!.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
            header[name] = ["dtype": "F32", "shape": shapes[name]!, "data_offsets": [data.count, data.count + bytes.count]]
            data += bytes
        }
        let json = try JSONSerialization.data(withJSONObject: header)
        var length = UInt64(json.count)
        var file = Data(bytes: &length, count: 8)
        file.append(json)
        file.append(contentsOf: data)
        let fileName = sharded ? "model-00001-of-00001.safetensors" : "model.safetensors"
        try file.write(to: dir.appendingPathComponent(fileName))
        if sharded {
            let index: [String: Any] = ["weight_map": Dictionary(uniqueKeysWithValues: tensors.keys.map { ($0, fileName) })]
            try JSONSerialization.data(withJSONObject: index).write(to: dir.appendingPathComponent("model.safetensors.index.json"))
        }
        return dir
    }

    @Test func shardedCheckpointLoadsThroughTheIndex() throws {
        let dir = try makeCheckpoint(tensors: ["w": [1, 2, 3, 4, 5, 6]], shapes: ["w": [2, 3]], sharded: true)
        let checkpoint = try Checkpoint(directory: dir)
        #expect(try checkpoint.matrix("w", rows: 2, cols: 3).values == [1, 2, 3, 4, 5, 6])
    }

    @Test func missingTensorAndShapeMismatchAreNamed() throws {
        let dir = try makeCheckpoint(tensors: ["w": [1, 2, 3, 4, 5, 6]], shapes: ["w": [2, 3]])
        let checkpoint = try Checkpoint(directory: dir)
        #expect(throws: CheckpointError.missingTensor(path: dir.path, tensor: "nope")) { try checkpoint.floats("nope") }
        do { _ = try checkpoint.matrix("w", rows: 3, cols: 2); Issue.record("expected an error") } catch {
            #expect("\(error)".contains("tensor w") && "\(error)".contains("[2, 3]"))
        }
    }

    @Test func aFileOrFolderThatIsNoCheckpointIsNamed() throws {
        let random = scratch.url.appendingPathComponent("x.gguf")
        try Data([0x3f, 0xa2, 0x19, 0x07] + (0..<60).map { UInt8($0) }).write(to: random)
        let notGGUF = CheckpointError.notGGUF(path: random.path, start: [0x3f, 0xa2, 0x19, 0x07])
        #expect(throws: notGGUF) { try Checkpoint(directory: random) }
        #expect(notGGUF.description.hasPrefix("\(random.path): not a GGUF file (bad magic 3f a2 19 07, expected \"GGUF\")"))

        let empty = scratch.url.appendingPathComponent("empty.gguf")
        try Data().write(to: empty)
        #expect(throws: CheckpointError.notGGUF(path: empty.path, start: [])) { try Checkpoint(directory: empty) }
        #expect(CheckpointError.notGGUF(path: empty.path, start: []).description.hasPrefix("\(empty.path): an empty file"))

        let folder = try scratch.newFolder()
        #expect(throws: CheckpointError.notACheckpointDirectory(path: folder.path)) { try Checkpoint(directory: folder) }
    }

    @Test func missingDirectoryOrWeights() throws {
        let nowhere = URL(fileURLWithPath: "/nonexistent/model")
        #expect(throws: CheckpointError.fileNotFound(path: nowhere.path)) { try Checkpoint(directory: nowhere) }
        let dir = scratch.url
        try JSONSerialization.data(withJSONObject: baseConfig).write(to: dir.appendingPathComponent("config.json"))
        #expect(throws: CheckpointError.fileNotFound(path: dir.appendingPathComponent("model.safetensors").path)) {
            try Checkpoint(directory: dir)
        }
    }
}
