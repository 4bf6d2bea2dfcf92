import Foundation
import FileChecks

/// Where one tensor lives in a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    /// GGML dimensions `ne`, fastest first: a weight `[rows, cols]` (PyTorch order) is `[cols, rows]`;
    /// stacked experts `[numExperts, rows, cols]` are `[cols, rows, numExperts]`. 1 to 4 entries.
    public let dimensions: [Int]
    /// Offset of the tensor's data from the start of the data section (a multiple of the alignment).
    public let offset: Int
    /// Offset of the first byte from the start of the file.
    public let fileOffset: Int
    public let byteCount: Int

    public var elementCount: Int { dimensions.reduce(1, *) }
}

/// A memory-mapped GGUF file (spec: ggml `docs/gguf.md`; reference readers: gguf-py
/// `gguf/gguf_reader.py`, ggml `src/gguf.cpp`), versions 2 and 3, little-endian:
///
///     magic "GGUF" · version u32 · tensor_count u64 · metadata_kv_count u64
///     metadata: key (u64 length + UTF-8) · value type u32 · value      (arrays: element type u32, count u64, elements)
///     tensor infos: name · n_dims u32 · ne[n_dims] u64 · ggml type u32 · offset u64
///     padding to `general.alignment` (u32, default 32) · tensor data
///
/// Nothing but the header is read when opening. Every count and length is checked against the bytes
/// left before anything is allocated for it, so a corrupt or hostile file gives a `CheckpointError`
/// (never a crash or a huge allocation): bad magic or version, a string or array longer than the file,
/// unknown value or tensor types, arrays nested deeper than `maximumArrayNesting`, duplicate keys or
/// tensor names, `general.alignment` not a u32 power of two, more than 4 dimensions, a row that is not
/// whole blocks, element or byte counts that overflow, data misaligned or (with its padding to the
/// alignment, as ggml reads it) past the end of the file.
public final class GGUFFile: Sendable {
    /// "GGUF" read as a little-endian u32 (gguf-py `GGUF_MAGIC`).
    public static let magic: UInt32 = 0x4655_4747
    /// `general.alignment` when the file does not set it (gguf-py `GGUF_DEFAULT_ALIGNMENT`).
    public static let defaultAlignment = 32
    /// GGML_MAX_DIMS in ggml.h.
    public static let maximumDimensions = 4
    /// Deepest nesting of arrays accepted (gguf-py writes nested arrays; none of its keys nest deeper than 2).
    public static let maximumArrayNesting = 8

    public let path: String
    /// 2 or 3 (version 3 added big-endian files, which are rejected here).
    public let version: Int
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Offset of the data section from the start of the file.
    public let dataOffset: Int
    private let tensorIndex: [String: Int]
    private let file: MappedFile

    /// True when the file at `url` starts with the GGUF magic (whatever its name, e.g. an Ollama blob).
    public static func hasMagic(_ url: URL) -> Bool {
        guard inputFileProblem(url.path) == nil, let handle = FileHandle(forReadingAtPath: url.path) else { return false }
        defer { try? handle.close() }
        guard let prefix = try? handle.read(upToCount: 4), prefix.count == 4 else { return false }
        return prefix.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } == magic.littleEndian
    }

    /// Maps and validates the file.
    /// - Throws: `CheckpointError.fileNotFound`, `.unreadable`, `.truncated` (a value or tensor past the end
    ///   of the file), `.malformedGGUF` naming the key, tensor or field and the problem.
    public init(url: URL) throws {
        let file = try MappedFile(url: url)
        let path = url.path
        var reader = ByteReader(bytes: file.bytes(offset: 0, count: file.byteCount), path: path)
        func fail(_ reason: String) -> CheckpointError { .malformedGGUF(path: path, reason: reason) }

        guard file.byteCount >= 4, try reader.read(UInt32.self) == GGUFFile.magic else {
            throw fail("does not start with the magic \"GGUF\"")
        }
        let rawVersion = try reader.read(UInt32.self)
        if rawVersion & 0xFFFF == 0 && rawVersion != 0 { throw fail("is a big-endian GGUF file; only little-endian files are read") }
        guard rawVersion == 2 || rawVersion == 3 else {
            throw fail("version \(rawVersion) is not supported (versions 2 and 3 are; version 1 files predate the 64-bit counts)")
        }
        let version = Int(rawVersion)
        let tensorCount = try reader.count(what: "tensor_count", minimumBytesEach: 24)
        let keyCount = try reader.count(what: "metadata_kv_count", minimumBytesEach: 13)

        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        for _ in 0..<keyCount {
            let key = try reader.string(what: "a metadata key")
            guard metadata[key] == nil else { throw fail("metadata key \"\(key)\" appears twice") }
            let value = try reader.value(type: try reader.valueType(what: "key \"\(key)\""), key: key, depth: 0)
            keys.append(key)
            metadata[key] = value
        }

        var infos: [(name: String, type: GGMLType, dimensions: [Int], offset: Int)] = []
        var index: [String: Int] = [:]
        for _ in 0..<tensorCount {
            let name = try reader.string(what: "a tensor name")
            func bad(_ reason: String) -> CheckpointError { .malformedGGUF(path: path, reason: "tensor \(name): \(reason)") }
            guard index[name] == nil else { throw bad("name appears twice") }
            let dimensionCount = try reader.read(UInt32.self)
            guard dimensionCount <= GGUFFile.maximumDimensions else {
                throw bad("has \(dimensionCount) dimensions, more than GGML's \(GGUFFile.maximumDimensions)")
            }
            var dimensions: [Int] = []
            for _ in 0..<dimensionCount {
                let d = try reader.read(UInt64.self)
                guard let dimension = Int(exactly: d) else { throw bad("dimension \(d) is out of range") }
                dimensions.append(dimension)
            }
            let typeID = try reader.read(UInt32.self)
            guard let type = GGMLType(id: typeID) else { throw bad("unknown GGML type id \(typeID)") }
            let offset = try reader.read(UInt64.self)
            guard let tensorOffset = Int(exactly: offset) else { throw bad("data offset \(offset) is out of range") }
            index[name] = infos.count
            infos.append((name, type, dimensions, tensorOffset))
        }

        var alignment = GGUFFile.defaultAlignment
        if let value = metadata["general.alignment"] {
            guard case .uint32(let a) = value else { throw fail("general.alignment is \(value.type), expected uint32") }
            guard a != 0 && a & (a - 1) == 0 else { throw fail("general.alignment \(a) is not a power of two") }
            alignment = Int(a)
        }
        let dataOffset = (reader.offset + alignment - 1) / alignment * alignment

        var tensors: [GGUFTensorInfo] = []
        var dataEnd = dataOffset   // where the last tensor's padded data ends: the file's size
        for info in infos {
            func bad(_ reason: String) -> CheckpointError { .malformedGGUF(path: path, reason: "tensor \(info.name): \(reason)") }
            var elements = 1
            for d in info.dimensions {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw bad("dimensions \(info.dimensions) overflow") }
                elements = product
            }
            if let rowLength = info.dimensions.first, rowLength % info.type.blockSize != 0 {
                throw bad("row length \(rowLength) is not a whole number of \(info.type.name) blocks of \(info.type.blockSize)")
            }
            guard let byteCount = info.type.byteCount(elements: elements) else {
                throw bad("\(info.type.name) byte size of dimensions \(info.dimensions) overflows")
            }
            guard info.offset % alignment == 0 else {
                throw bad("data offset \(info.offset) is not a multiple of the alignment \(alignment)")
            }
            // The data section holds each tensor padded to the alignment (ggml gguf.cpp reads it whole).
            let (start, startOverflow) = dataOffset.addingReportingOverflow(info.offset)
            let (end, endOverflow) = start.addingReportingOverflow(byteCount)
            let (paddedEnd, padOverflow) = end.addingReportingOverflow((alignment - byteCount % alignment) % alignment)
            guard !startOverflow, !endOverflow, !padOverflow else { throw bad("data offset \(info.offset) + \(byteCount) bytes overflows") }
            dataEnd = max(dataEnd, paddedEnd)
            tensors.append(GGUFTensorInfo(name: info.name, type: info.type, dimensions: info.dimensions,
                                          offset: info.offset, fileOffset: start, byteCount: byteCount))
        }
        guard dataEnd <= file.byteCount else {
            throw CheckpointError.truncated(path: path, expectedBytes: dataEnd, actualBytes: file.byteCount)
        }
        self.file = file
        self.path = path
        self.version = version
        self.metadataKeys = keys
        self.metadata = metadata
        self.tensors = tensors
        self.tensorIndex = index
        self.alignment = alignment
        self.dataOffset = dataOffset
    }

    /// The tensor named `name`, or nil.
    public func tensor(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// A tensor's bytes (valid while this object lives).
    public func bytes(_ tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        file.bytes(offset: tensor.fileOffset, count: tensor.byteCount)
    }

    /// File size in bytes.
    public var byteCount: Int { file.byteCount }
}

/// Reads little-endian values from the header, throwing instead of reading past the end.
private struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var offset = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    var remaining: Int { bytes.count - offset }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else {
            throw CheckpointError.truncated(path: path, expectedBytes: offset + size, actualBytes: bytes.count)
        }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }

    /// A u64 count of items taking at least `minimumBytesEach` bytes each, checked against the bytes left.
    mutating func count(what: String, minimumBytesEach: Int) throws -> Int {
        let raw = try read(UInt64.self)
        guard raw <= UInt64(remaining / minimumBytesEach) else {
            throw CheckpointError.malformedGGUF(path: path, reason: "\(what) \(raw) is impossible: the \(remaining) bytes left hold at most \(remaining / minimumBytesEach)")
        }
        return Int(raw)
    }

    mutating func string(what: String) throws -> String {
        let raw = try read(UInt64.self)
        guard raw <= UInt64(remaining) else {
            throw CheckpointError.malformedGGUF(path: path, reason: "\(what) at byte \(offset - 8) has length \(raw), more than the \(remaining) bytes left")
        }
        let length = Int(raw)
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]), as: UTF8.self)
        offset += length
        return text
    }

    mutating func valueType(what: String) throws -> GGUFValueType {
        let raw = try read(UInt32.self)
        guard let type = GGUFValueType(rawValue: raw) else {
            throw CheckpointError.malformedGGUF(path: path, reason: "\(what) has unknown value type \(raw)")
        }
        return type
    }

    mutating func value(type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read(UInt8.self))
        case .int8: return .int8(try read(Int8.self))
        case .uint16: return .uint16(try read(UInt16.self))
        case .int16: return .int16(try read(Int16.self))
        case .uint32: return .uint32(try read(UInt32.self))
        case .int32: return .int32(try read(Int32.self))
        case .uint64: return .uint64(try read(UInt64.self))
        case .int64: return .int64(try read(Int64.self))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self)))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self)))
        case .bool:
            let byte = try read(UInt8.self)
            guard byte <= 1 else { throw CheckpointError.malformedGGUF(path: path, reason: "key \"\(key)\": bool byte is \(byte), expected 0 or 1") }
            return .bool(byte == 1)
        case .string: return .string(try string(what: "the value of key \"\(key)\""))
        case .array:
            guard depth < GGUFFile.maximumArrayNesting else {
                throw CheckpointError.malformedGGUF(path: path, reason: "key \"\(key)\": arrays nested deeper than \(GGUFFile.maximumArrayNesting)")
            }
            let elementType = try valueType(what: "an array element of key \"\(key)\"")
            let count = try self.count(what: "key \"\(key)\": array length", minimumBytesEach: elementType.minimumByteCount)
            var values: [GGUFValue] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try value(type: elementType, key: key, depth: depth + 1)) }
            return .array(elementType: elementType, values)
        }
    }
}
