import Foundation

/// Builds a GGUF version 3 file, the container only, laid out as gguf-py's `GGUFWriter` writes it
/// (`write_header_to_file`, `write_kv_data_to_file`, `write_tensors_to_file`): header, metadata in the
/// order added, tensor infos in the order added, zero padding to the alignment, then each tensor's bytes
/// padded with zeros to a multiple of the alignment (offsets count those paddings). Tensors are held in
/// memory until `write(to:)`.
public struct GGUFWriter {
    /// Metadata in the order it is written.
    public private(set) var metadata: [(key: String, value: GGUFValue)] = []
    private var tensors: [(name: String, type: GGMLType, dimensions: [Int], bytes: [UInt8])] = []
    /// Data alignment: the `general.alignment` entry if one was added, else 32.
    public private(set) var alignment = GGUFFile.defaultAlignment

    public init() {}

    /// Adds a metadata entry. Preconditions: the key is new; array elements have the array's element
    /// type; `general.alignment` is a u32 power of two added before any tensor.
    public mutating func add(_ key: String, _ value: GGUFValue) {
        precondition(!metadata.contains { $0.key == key }, "GGUFWriter: metadata key \(key) added twice")
        if key == "general.alignment" {
            guard case .uint32(let a) = value, a != 0, a & (a - 1) == 0, tensors.isEmpty else {
                preconditionFailure("GGUFWriter: general.alignment must be a u32 power of two, added before the tensors")
            }
            alignment = Int(a)
        }
        metadata.append((key, value))
    }

    /// Adds a tensor from its bytes. `dimensions` are GGML's, fastest first (`[cols, rows]` for a weight
    /// `[rows, cols]`). Preconditions: the name is new, 1–4 dimensions, the first a whole number of
    /// blocks, and `bytes.count` the type's size for that many elements.
    public mutating func addTensor(_ name: String, type: GGMLType, dimensions: [Int], bytes: [UInt8]) {
        precondition(!tensors.contains { $0.name == name }, "GGUFWriter: tensor \(name) added twice")
        precondition((1...GGUFFile.maximumDimensions).contains(dimensions.count), "GGUFWriter: \(name) has \(dimensions.count) dimensions")
        precondition(type.byteCount(elements: dimensions.reduce(1, *)) == bytes.count && dimensions[0] % type.blockSize == 0,
                     "GGUFWriter: \(name): \(bytes.count) bytes for \(type) \(dimensions)")
        tensors.append((name, type, dimensions, bytes))
    }

    private func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// The header, metadata and tensor infos, padded to the alignment.
    private func header() -> [UInt8] {
        var out: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) } }
        func append(string: String) { append(UInt64(string.utf8.count)); out.append(contentsOf: string.utf8) }
        func append(value: GGUFValue) {
            switch value {
            case .uint8(let v): append(v)
            case .int8(let v): append(v)
            case .uint16(let v): append(v)
            case .int16(let v): append(v)
            case .uint32(let v): append(v)
            case .int32(let v): append(v)
            case .uint64(let v): append(v)
            case .int64(let v): append(v)
            case .float32(let v): append(v.bitPattern)
            case .float64(let v): append(v.bitPattern)
            case .bool(let v): append(UInt8(v ? 1 : 0))
            case .string(let s): append(string: s)
            case .array(let elementType, let values):
                precondition(values.allSatisfy { $0.type == elementType }, "GGUFWriter: array elements are not all \(elementType)")
                append(elementType.rawValue)
                append(UInt64(values.count))
                for element in values { append(value: element) }
            }
        }
        append(GGUFFile.magic)
        append(UInt32(3))
        append(UInt64(tensors.count))
        append(UInt64(metadata.count))
        for (key, value) in metadata {
            append(string: key)
            append(value.type.rawValue)
            append(value: value)
        }
        var offset = 0
        for tensor in tensors {
            append(string: tensor.name)
            append(UInt32(tensor.dimensions.count))
            for d in tensor.dimensions { append(UInt64(d)) }
            append(tensor.type.id)
            append(UInt64(offset))
            offset += padded(tensor.bytes.count)
        }
        out.append(contentsOf: [UInt8](repeating: 0, count: padded(out.count) - out.count))
        return out
    }

    /// Writes the file through a partial file of its own in the same folder, then moved to `url`
    /// (`writeThroughPartialFile`), so a reader never sees half a file and a file mapped from `url` stays valid.
    /// - Parameter overwrite: replace a file at `url`; otherwise refuse one, also one that appears during the write.
    /// - Returns: bytes written.
    /// - Throws: `CheckpointWriteError.cannotWrite` naming the path and the system's reason; `.wouldOverwrite`.
    @discardableResult
    public func write(to url: URL, overwrite: Bool = true) throws -> Int {
        var written = 0
        try writeThroughPartialFile(url, overwrite: overwrite) { handle in
            let head = header()
            try handle.write(contentsOf: head)
            written += head.count
            for tensor in tensors {
                try handle.write(contentsOf: tensor.bytes)
                let padding = padded(tensor.bytes.count) - tensor.bytes.count
                try handle.write(contentsOf: [UInt8](repeating: 0, count: padding))
                written += tensor.bytes.count + padding
            }
        }
        return written
    }
}
