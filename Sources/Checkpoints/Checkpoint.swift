import Foundation
import FileChecks
import Tensors

/// A Mixtral checkpoint: either a Hugging Face directory (`config.json`, the weights as one
/// `model.safetensors` or shards listed in `model.safetensors.index.json`, and `tokenizer.json`) or a single
/// GGUF file (llama.cpp / Ollama; recognised by its magic "GGUF", whatever its name). Both are served
/// under the Hugging Face tensor names and shapes (`GGUFTensorNames`), so everything that takes a
/// `Checkpoint` runs on either. Weights stay memory-mapped; a tensor is converted to fp32 only when asked for.
public final class Checkpoint: Sendable {
    /// The checkpoint directory, or the GGUF file.
    public let directory: URL
    public let config: MixtralConfig
    /// Where the tensors come from.
    private enum TensorSource {
        /// Every tensor name → the mapped safetensors file that holds it.
        case safetensors([String: SafeTensorsFile])
        case gguf(GGUFTensorSource)
    }
    private let source: TensorSource
    /// The mapped safetensors files (one, or one per shard); empty for a GGUF file.
    public let files: [SafeTensorsFile]
    /// The GGUF file, when the checkpoint is one.
    public var gguf: GGUFFile? {
        if case .gguf(let source) = source { return source.file }
        return nil
    }

    /// The folder the checkpoint lives in: the directory itself, or the GGUF file's folder. Files that
    /// travel with a model (`heldout.txt`) are looked up here.
    public var folder: URL { gguf == nil ? directory : directory.deletingLastPathComponent() }

    /// Opens a checkpoint directory or a GGUF file.
    /// - Throws: `CheckpointError` naming the file and problem (`.notACheckpointDirectory` without
    ///   config.json, `.notGGUF` for a file without GGUF's magic, malformed header, a shard listed in the
    ///   index but missing, …).
    public init(directory: URL) throws {
        self.directory = directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw CheckpointError.nothingAt(directory.path)
        }
        guard isDirectory.boolValue else {
            if let problem = inputFileProblem(directory.path) {
                throw CheckpointError.unreadable(path: directory.path, reason: "\(problem); a model is a checkpoint folder or a GGUF file")
            }
            try Checkpoint.checkGGUFMagic(directory)
            let file = try GGUFFile(url: directory)
            config = try MixtralConfig(gguf: file)
            source = .gguf(try GGUFTensorSource(file: file, config: config))
            files = []
            return
        }
        let configURL = directory.appendingPathComponent("config.json")
        // a symbolic link to nothing or in a loop is there, and reading it says so
        guard FileKind(path: configURL.path) != .missing else {
            throw CheckpointError.notACheckpointDirectory(path: directory.path)
        }
        config = try MixtralConfig(contentsOf: configURL)

        let indexURL = directory.appendingPathComponent(Checkpoint.shardIndexFile)
        let single = directory.appendingPathComponent("model.safetensors")
        var files: [SafeTensorsFile] = []
        var fileForTensor: [String: SafeTensorsFile] = [:]
        if FileKind(path: indexURL.path) != .missing {
            let shardNames = try Checkpoint.shardNames(index: indexURL)
            for shard in shardNames {
                let file = try SafeTensorsFile(url: directory.appendingPathComponent(shard))
                files.append(file)
                for name in file.tensors.keys { fileForTensor[name] = file }
            }
        } else if FileKind(path: single.path) != .missing {
            let file = try SafeTensorsFile(url: single)
            files.append(file)
            for name in file.tensors.keys { fileForTensor[name] = file }
        } else {
            throw CheckpointError.fileNotFound(path: single.path)
        }
        self.files = files
        self.source = .safetensors(fileForTensor)
    }

    /// Refuses a file that does not start with GGUF's magic "GGUF", with what it starts with.
    /// - Throws: `CheckpointError.unreadable` or `.notGGUF`.
    private static func checkGGUFMagic(_ url: URL) throws {
        let start: [UInt8]
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            start = [UInt8](try handle.read(upToCount: 4) ?? Data())
        } catch {
            throw CheckpointError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        guard start == Array("GGUF".utf8) else { throw CheckpointError.notGGUF(path: url.path, start: start) }
    }

    /// The shard index a checkpoint folder is read from when it has one — before any `model.safetensors`.
    public static let shardIndexFile = "model.safetensors.index.json"

    /// Shard file names from `model.safetensors.index.json` (`{"weight_map": {tensor: file}}`), in order.
    private static func shardNames(index: URL) throws -> [String] {
        guard inputFileProblem(index.path) == nil, let data = try? Data(contentsOf: index),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let weightMap = json["weight_map"] as? [String: String] else {
            throw CheckpointError.malformedHeader(path: index.path, reason: "not a safetensors index (expected {\"weight_map\": {tensor: file}})")
        }
        for shard in Set(weightMap.values) where shard.contains("/") || shard.hasPrefix(".") {
            throw CheckpointError.malformedHeader(path: index.path, reason: "shard name \"\(shard)\" must be a plain file name")
        }
        return Set(weightMap.values).sorted()
    }

    /// Location and dtype of a tensor, or nil. For a GGUF file: the Hugging Face shape, and dtype F16 or
    /// BF16 as stored, F32 for F32 and for the block-quantized types (which `floats` decodes to fp32);
    /// `ggufWeight(_:)` gives the GGML type.
    public func info(_ name: String) -> TensorInfo? {
        switch source {
        case .safetensors(let fileForTensor):
            return fileForTensor[name]?.tensors[name]
        case .gguf(let gguf):
            guard let weight = gguf.weights[name] else { return nil }
            let dtype: TensorDType = weight.type == .f16 ? .f16 : weight.type == .bf16 ? .bf16 : .f32
            return TensorInfo(name: name, dtype: dtype, shape: weight.shape, fileOffset: weight.fileOffset,
                              byteCount: weight.storedBytes.count)
        }
    }

    /// A tensor of a GGUF checkpoint by its Hugging Face name; nil for a safetensors checkpoint or a
    /// missing name.
    public func ggufWeight(_ name: String) -> GGUFWeight? {
        if case .gguf(let gguf) = source { return gguf.weights[name] }
        return nil
    }

    /// All tensor names, sorted.
    public var tensorNames: [String] {
        switch source {
        case .safetensors(let fileForTensor): return fileForTensor.keys.sorted()
        case .gguf(let gguf): return gguf.weights.keys.sorted()
        }
    }

    /// A tensor as fp32 values.
    /// - Throws: `CheckpointError.missingTensor`; `.badTensor` for a tensor type that cannot be decoded.
    public func floats(_ name: String) throws -> [Float] {
        switch source {
        case .safetensors(let fileForTensor):
            guard let file = fileForTensor[name] else { throw CheckpointError.missingTensor(path: directory.path, tensor: name) }
            return try file.floats(name)
        case .gguf(let gguf):
            guard let weight = gguf.weights[name] else { throw CheckpointError.missingTensor(path: directory.path, tensor: name) }
            return try weight.floats()
        }
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
    /// - Throws: `CheckpointError.missingTensor`; `.badTensor` for a GGUF q/k weight, whose stored rows are
    ///   in llama.cpp's RoPE order (use `ggufWeight(name).bytes()`).
    public func rawBytes(_ name: String) throws -> (TensorInfo, UnsafeRawBufferPointer) {
        guard let info = info(name) else { throw CheckpointError.missingTensor(path: directory.path, tensor: name) }
        switch source {
        case .safetensors(let fileForTensor):
            return (info, fileForTensor[name]!.rawBytes(info))
        case .gguf(let gguf):
            let weight = gguf.weights[name]!
            guard weight.permutedHeads == nil else {
                throw CheckpointError.badTensor(path: directory.path, tensor: weight.tensorName,
                                                reason: "rows are stored in llama.cpp's RoPE order; read them through ggufWeight(_:).bytes()")
            }
            return (info, weight.storedBytes)
        }
    }

    private func checkShape(_ name: String, _ expected: [Int]) throws {
        guard let info = info(name) else { throw CheckpointError.missingTensor(path: directory.path, tensor: name) }
        if info.shape != expected {
            let (path, tensor) = ggufWeight(name).map { (directory.path, $0.tensorName) }
                ?? (files.first { $0.tensors[name] != nil }!.path, name)
            throw CheckpointError.badTensor(path: path, tensor: tensor, reason: "shape \(info.shape) does not match the config's \(expected)")
        }
    }
}
