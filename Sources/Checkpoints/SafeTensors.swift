import Foundation
import Tensors

/// Element types of safetensors tensors that mixtral-lab reads as weights.
public enum TensorDType: String, Sendable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16"
    /// Packed bytes (quantized checkpoints written by `mixtral-lab quantize`).
    case u8 = "U8"

    public var byteSize: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .u8: return 1
        }
    }
}

/// Where one tensor lives inside a safetensors file.
public struct TensorInfo: Sendable {
    public let name: String
    public let dtype: TensorDType
    public let shape: [Int]
    /// Offset of the first byte from the start of the file.
    public let fileOffset: Int
    public let byteCount: Int
    public var elementCount: Int { shape.reduce(1, *) }
}

/// One memory-mapped `.safetensors` file (format: https://github.com/huggingface/safetensors, README
/// "Format"): 8-byte little-endian header length N, N bytes of JSON
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`, then the data buffer.
/// Offsets are relative to the buffer; tensors must tile it contiguously without gaps or overlaps.
public final class SafeTensorsFile: Sendable {
    public let path: String
    public let tensors: [String: TensorInfo]
    /// The `__metadata__` string map (may be empty).
    public let metadata: [String: String]
    private let file: MappedFile

    /// Maps and validates the file. Nothing but the header is read.
    /// - Throws: `CheckpointError.gitLFSPointer`, `.truncated`, `.malformedHeader`, `.badTensor`.
    public init(url: URL) throws {
        file = try MappedFile(url: url)
        let path = url.path
        self.path = path
        let size = file.byteCount
        if size < 8 {
            throw CheckpointError.malformedHeader(path: path, reason: "file has \(size) bytes, less than the 8-byte header length")
        }
        let prefix = file.bytes(offset: 0, count: min(size, 64))
        if String(decoding: prefix, as: UTF8.self).hasPrefix("version https://git-lfs") {
            throw CheckpointError.gitLFSPointer(path: path)
        }
        let headerLength = Int(clamping: file.bytes(offset: 0, count: 8).loadUnaligned(as: UInt64.self).littleEndian)
        guard headerLength <= 100_000_000 else {
            throw CheckpointError.malformedHeader(path: path, reason: "header length \(headerLength) is implausibly large")
        }
        guard 8 + headerLength <= size else {
            throw CheckpointError.truncated(path: path, expectedBytes: 8 + headerLength, actualBytes: size)
        }
        let headerData = Data(file.bytes(offset: 8, count: headerLength))
        guard let object = try? JSONSerialization.jsonObject(with: headerData), let header = object as? [String: Any] else {
            throw CheckpointError.malformedHeader(path: path, reason: "header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        var ranges: [(begin: Int, end: Int, name: String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            func bad(_ reason: String) -> CheckpointError { .badTensor(path: path, tensor: name, reason: reason) }
            guard let entry = value as? [String: Any] else { throw bad("header entry is not an object") }
            guard let dtypeName = entry["dtype"] as? String else { throw bad("missing dtype") }
            guard let dtype = TensorDType(rawValue: dtypeName) else {
                throw bad("unsupported dtype \(dtypeName) (mixtral-lab reads F32, F16, BF16 and U8)")
            }
            guard let shapeValues = entry["shape"] as? [NSNumber], shapeValues.count <= 8 else { throw bad("missing or invalid shape") }
            let shape = shapeValues.map { $0.intValue }
            guard let offsets = entry["data_offsets"] as? [NSNumber], offsets.count == 2 else { throw bad("missing data_offsets") }
            let begin = offsets[0].intValue, end = offsets[1].intValue
            guard shape.allSatisfy({ $0 >= 0 }), begin >= 0, end >= begin else { throw bad("negative shape or offsets") }
            var elements = 1
            for d in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw bad("shape \(shape) overflows") }
                elements = product
            }
            let (expected, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, expected == end - begin else {
                throw bad("shape \(shape) × \(dtype.byteSize) bytes = \(elements * dtype.byteSize) bytes, but data_offsets span \(end - begin)")
            }
            tensors[name] = TensorInfo(name: name, dtype: dtype, shape: shape, fileOffset: dataStart + begin, byteCount: end - begin)
            ranges.append((begin, end, name))
        }
        // The buffer must be tiled exactly: sorted ranges start at 0 and each begins where the last ended.
        ranges.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var cursor = 0
        for range in ranges {
            if range.begin != cursor {
                let reason = range.begin < cursor ? "overlaps the previous tensor" : "leaves a gap before it (offsets not contiguous)"
                throw CheckpointError.badTensor(path: path, tensor: range.name, reason: "data_offsets [\(range.begin), \(range.end)] \(reason)")
            }
            cursor = range.end
        }
        if dataStart + cursor > size {
            throw CheckpointError.truncated(path: path, expectedBytes: dataStart + cursor, actualBytes: size)
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Raw bytes of a tensor (valid while this object lives).
    public func rawBytes(_ info: TensorInfo) -> UnsafeRawBufferPointer {
        file.bytes(offset: info.fileOffset, count: info.byteCount)
    }

    /// The tensor converted to fp32 (F32 copied, F16 and BF16 widened exactly).
    /// - Throws: `CheckpointError.missingTensor`, `.badTensor` for U8 tensors.
    public func floats(_ name: String) throws -> [Float] {
        guard let info = tensors[name] else { throw CheckpointError.missingTensor(path: path, tensor: name) }
        return try floats(info)
    }

    func floats(_ info: TensorInfo) throws -> [Float] {
        let raw = rawBytes(info)
        let count = info.elementCount
        switch info.dtype {
        case .f32:
            // Tensor data may be unaligned: load element by element.
            return (0..<count).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self) }
                .map { Float(bitPattern: UInt32(littleEndian: $0)) }
        case .bf16:
            return (0..<count).map { bfloat16ToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
        case .f16:
            return (0..<count).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
        case .u8:
            throw CheckpointError.badTensor(path: path, tensor: info.name, reason: "is packed U8 data, not a float tensor")
        }
    }
}

/// bf16 → fp32, exact for every bit pattern (subnormals, ±inf, NaN): bf16 is the top half of an fp32.
@inline(__always)
public func bfloat16ToFloat(_ bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}
