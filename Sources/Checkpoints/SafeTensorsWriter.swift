import Foundation
import UserInput

/// Builds a `.safetensors` file (format: https://github.com/huggingface/safetensors, README "Format"):
/// 8-byte little-endian header length N, N bytes of JSON
/// `{name: {dtype, shape, data_offsets}, "__metadata__": {…}}` padded with spaces to a multiple of 8 (as
/// the safetensors library pads it), then the tensors' bytes back to back in the order they were added.
/// Tensors are held in memory until `write(to:)`.
public struct SafeTensorsWriter {
    /// The `__metadata__` string map written into the header (omitted when empty).
    public var metadata: [String: String]
    private var entries: [(name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8])] = []
    private var names: Set<String> = []

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds a tensor from its little-endian bytes. Preconditions: the name is new and
    /// `bytes.count == shape.reduce(1, *) · dtype.byteSize`.
    public mutating func add(_ name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8]) {
        precondition(!names.contains(name), "SafeTensorsWriter: tensor \(name) added twice")
        precondition(bytes.count == shape.reduce(1, *) * dtype.byteSize,
                     "SafeTensorsWriter: \(name): \(bytes.count) bytes for \(dtype.rawValue) \(shape)")
        names.insert(name)
        entries.append((name, dtype, shape, bytes))
        dataByteCount += bytes.count
    }

    /// Adds an F32 tensor.
    public mutating func add(_ name: String, shape: [Int], floats: [Float]) {
        add(name, dtype: .f32, shape: shape, bytes: floats.withUnsafeBytes { Array($0) })
    }

    /// Adds a BF16 or F16 tensor from its 16-bit patterns.
    public mutating func add(_ name: String, dtype: TensorDType, shape: [Int], halves: [UInt16]) {
        precondition(dtype == .bf16 || dtype == .f16, "SafeTensorsWriter: \(name): 16-bit patterns stored as \(dtype.rawValue)")
        add(name, dtype: dtype, shape: shape, bytes: halves.map(\.littleEndian).withUnsafeBytes { Array($0) })
    }

    /// Bytes of tensor data added so far (the file adds 8 + the header).
    public private(set) var dataByteCount = 0

    /// The JSON header, space-padded to a multiple of 8 bytes.
    private func header() -> Data {
        var object: [String: Any] = [:]
        var offset = 0
        for entry in entries {
            object[entry.name] = ["dtype": entry.dtype.rawValue, "shape": entry.shape,
                                  "data_offsets": [offset, offset + entry.bytes.count]] as [String: Any]
            offset += entry.bytes.count
        }
        if !metadata.isEmpty { object["__metadata__"] = metadata }
        var json = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        return json
    }

    /// Writes the file through a partial file of its own in the same folder, then moved to `url`
    /// (`writeThroughPartialFile`), so a reader never sees half a file and a file mapped from `url` stays valid.
    /// - Parameter overwrite: replace a file at `url`; otherwise refuse one, also one that appears during the write.
    /// - Returns: bytes written.
    /// - Throws: `CheckpointWriteError.cannotWrite` naming the path and the system's reason; `.wouldOverwrite`.
    @discardableResult
    public func write(to url: URL, overwrite: Bool = true) throws -> Int {
        let headerBytes = header()
        var length = UInt64(headerBytes.count).littleEndian
        try writeThroughPartialFile(url, overwrite: overwrite) { handle in
            try handle.write(contentsOf: Data(bytes: &length, count: 8))
            try handle.write(contentsOf: headerBytes)
            for entry in entries { try handle.write(contentsOf: entry.bytes) }
        }
        return 8 + headerBytes.count + dataByteCount
    }
}

/// A checkpoint file that could not be written.
public enum CheckpointWriteError: UserInputError, Equatable {
    case cannotWrite(path: String, reason: String)
    /// The output would replace files that exist; the caller asked not to.
    case wouldOverwrite(path: String)
    /// The folder an output file would go into does not exist.
    case missingFolder(path: String)
    /// The output folder is the checkpoint being read.
    case outputIsInput(path: String)
    /// A folder where the output file would go.
    case isAFolder(path: String)
    /// A file where the output folder would go.
    case notAFolder(path: String)
    /// A source the output made from would not load (`QuantizedCheckpointWriter.checkSource`).
    case unusableSource(path: String, reason: String)
    /// A named pipe, device, socket (or a link to one) where the output file would go; never replaced.
    case notARegularFile(path: String, kind: String)
    /// A shard index in the output folder, which loading would read instead of the `model.safetensors`
    /// written there; not a file the writer writes, so never removed, even with --force.
    case shadowingIndex(path: String)

    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason):
            return "\(path): cannot write (\(reason))"
        case .wouldOverwrite(let path):
            return "\(path) exists; pass --force to overwrite it"
        case .missingFolder(let path):
            return "\(path): no such folder; create it first"
        case .outputIsInput(let path):
            return "\(path) is the checkpoint being quantized; choose another --output folder"
        case .unusableSource(let path, let reason):
            return "\(path) \(reason)"
        case .notARegularFile(let path, let kind):
            return "\(path) is \(kind), not a regular file; it is never replaced, even with --force"
        case .shadowingIndex(let path):
            return "\(path) exists, and a folder with it loads the shards it lists instead of the model.safetensors written here; remove it (it is not replaced, even with --force) or choose another folder"
        case .isAFolder(let path):
            return "\(path) is a folder; give the path of a file to write"
        case .notAFolder(let path):
            return "\(path) is a file; give a folder to write into"
        }
    }
}
