import Foundation
import Tensors

/// A Hugging Face checkpoint directory: `config.json`, the weights as one `model.safetensors` or shards
/// listed in `model.safetensors.index.json`, and `tokenizer.json`. Weights stay memory-mapped; a tensor is
/// converted to fp32 only when asked for.
public final class Checkpoint: @unchecked Sendable {
    public let directory: URL
    public let config: MixtralConfig
    /// Every tensor name → the mapped file that holds it.
    private let fileForTensor: [String: SafeTensorsFile]
    /// The mapped weight files (one, or one per shard).
    public let files: [SafeTensorsFile]

    /// Opens a checkpoint directory.
    /// - Throws: `CheckpointError` naming the file and problem (missing config, malformed header, a shard
    ///   listed in the index but missing, …).
    public init(directory: URL) throws {
        self.directory = directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw CheckpointError.fileNotFound(path: directory.path)
        }
        guard isDirectory.boolValue else {
            throw CheckpointError.unreadable(path: directory.path, reason: "expected a checkpoint directory (config.json + *.safetensors + tokenizer.json)")
        }
        config = try MixtralConfig(contentsOf: directory.appendingPathComponent("config.json"))

        let indexURL = directory.appendingPathComponent("model.safetensors.index.json")
        let single = directory.appendingPathComponent("model.safetensors")
        var files: [SafeTensorsFile] = []
        var fileForTensor: [String: SafeTensorsFile] = [:]
        if FileManager.default.fileExists(atPath: indexURL.path) {
            let shardNames = try Checkpoint.shardNames(index: indexURL)
            for shard in shardNames {
                let file = try SafeTensorsFile(url: directory.appendingPathComponent(shard))
                files.append(file)
                for name in file.tensors.keys { fileForTensor[name] = file }
            }
        } else if FileManager.default.fileExists(atPath: single.path) {
            let file = try SafeTensorsFile(url: single)
            files.append(file)
            for name in file.tensors.keys { fileForTensor[name] = file }
        } else {
            throw CheckpointError.fileNotFound(path: single.path)
        }
        self.files = files
        self.fileForTensor = fileForTensor
    }

    /// Shard file names from `model.safetensors.index.json` (`{"weight_map": {tensor: file}}`), in order.
    private static func shardNames(index: URL) throws -> [String] {
        guard let data = try? Data(contentsOf: index),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let weightMap = json["weight_map"] as? [String: String] else {
            throw CheckpointError.malformedHeader(path: index.path, reason: "not a safetensors index (expected {\"weight_map\": {tensor: file}})")
        }
        for shard in Set(weightMap.values) where shard.contains("/") || shard.hasPrefix(".") {
            throw CheckpointError.malformedHeader(path: index.path, reason: "shard name \"\(shard)\" must be a plain file name")
        }
        return Set(weightMap.values).sorted()
    }

    /// Location and dtype of a tensor, or nil.
    public func info(_ name: String) -> TensorInfo? { fileForTensor[name]?.tensors[name] }

    /// All tensor names, sorted.
    public var tensorNames: [String] { fileForTensor.keys.sorted() }

    /// A tensor as fp32 values.
    /// - Throws: `CheckpointError.missingTensor`.
    public func floats(_ name: String) throws -> [Float] {
        guard let file = fileForTensor[name] else { throw CheckpointError.missingTensor(path: directory.path, tensor: name) }
        return try file.floats(name)
    }

    /// A 2-D tensor as an fp32 `Matrix`, after checking its shape is `[rows, cols]` and that every value
    /// is finite.
    /// - Throws: `CheckpointError.missingTensor`, `.badTensor` on a shape mismatch or a NaN/Inf weight.
    public func matrix(_ name: String, rows: Int, cols: Int) throws -> Matrix {
        try checkShape(name, [rows, cols])
        return Matrix(rows: rows, cols: cols, values: try finiteFloats(name, cols: cols))
    }

    /// A 1-D tensor `[count]` as fp32 values, after checking its shape and that every value is finite.
    public func vector(_ name: String, count: Int) throws -> [Float] {
        try checkShape(name, [count])
        return try finiteFloats(name, cols: count)
    }

    /// The tensor's values; a NaN or infinity (a corrupt or badly converted checkpoint) is an error naming
    /// the tensor and the element, not a silently wrong model.
    private func finiteFloats(_ name: String, cols: Int) throws -> [Float] {
        let values = try floats(name)
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw CheckpointError.badTensor(path: directory.path, tensor: name,
                                            reason: "element [\(bad / cols), \(bad % cols)] is \(values[bad]); the weights are corrupt")
        }
        return values
    }

    /// Raw bytes of a tensor, e.g. packed quantized blocks (valid while the checkpoint lives).
    public func rawBytes(_ name: String) throws -> (TensorInfo, UnsafeRawBufferPointer) {
        guard let file = fileForTensor[name], let info = file.tensors[name] else {
            throw CheckpointError.missingTensor(path: directory.path, tensor: name)
        }
        return (info, file.rawBytes(info))
    }

    private func checkShape(_ name: String, _ expected: [Int]) throws {
        guard let file = fileForTensor[name], let info = file.tensors[name] else {
            throw CheckpointError.missingTensor(path: directory.path, tensor: name)
        }
        if info.shape != expected {
            throw CheckpointError.badTensor(path: file.path, tensor: name,
                                            reason: "shape \(info.shape) does not match the config's \(expected)")
        }
    }
}
