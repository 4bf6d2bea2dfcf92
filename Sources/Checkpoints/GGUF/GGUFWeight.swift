import Foundation
import Quantization

/// One Hugging Face tensor inside a GGUF file: a whole GGUF tensor, or one expert's slice of a stacked
/// `ffn_*_exps` tensor (the expert index is the slowest dimension, so each expert is contiguous).
// @unchecked Sendable: `storedBytes` points into its GGUF file's read-only mapping, which the checkpoint keeps alive.
public struct GGUFWeight: @unchecked Sendable {
    /// The Hugging Face name (`model.layers.0.self_attn.q_proj.weight`), or the GGUF name for a tensor
    /// outside the Mixtral set.
    public let name: String
    /// The GGUF tensor holding it.
    public let tensorName: String
    public let type: GGMLType
    /// Hugging Face shape: `[rows, cols]` for a weight, `[count]` for a vector.
    public let shape: [Int]
    /// Heads whose rows llama.cpp's converter interleaved for its RoPE (`attn_q`: attention heads,
    /// `attn_k`: KV heads); nil for every other tensor.
    public let permutedHeads: Int?
    /// Offset of the first byte in the file.
    public let fileOffset: Int
    /// The stored bytes (rows of `attn_q`/`attn_k` in llama.cpp's order), valid while the checkpoint lives.
    public let storedBytes: UnsafeRawBufferPointer
    /// The GGUF file.
    public let path: String

    public var elementCount: Int { shape.reduce(1, *) }

    /// A whole GGUF tensor under its own name, its shape the dimensions reversed, rows as stored.
    public init(wholeTensor tensor: GGUFTensorInfo, in file: GGUFFile) {
        self.init(name: tensor.name, tensorName: tensor.name, type: tensor.type, shape: tensor.dimensions.reversed(),
                  permutedHeads: nil, fileOffset: tensor.fileOffset, storedBytes: file.bytes(tensor), path: file.path)
    }

    init(name: String, tensorName: String, type: GGMLType, shape: [Int], permutedHeads: Int?, fileOffset: Int,
         storedBytes: UnsafeRawBufferPointer, path: String) {
        self.name = name
        self.tensorName = tensorName
        self.type = type
        self.shape = shape
        self.permutedHeads = permutedHeads
        self.fileOffset = fileOffset
        self.storedBytes = storedBytes
        self.path = path
    }

    /// The row at which Hugging Face row `r` is stored. llama.cpp's `LlamaModel.permute`
    /// (`convert_hf_to_gguf.py`) reshapes the rows to `[heads, 2, headDim/2]` and swaps the last two axes,
    /// so row `h·headDim + i·headDim/2 + j` (i = first or second half of the head) is stored at
    /// `h·headDim + 2j + i`.
    public func storedRow(_ r: Int) -> Int {
        guard let heads = permutedHeads else { return r }
        let headDim = shape[0] / heads, half = headDim / 2
        let h = r / headDim, i = (r % headDim) / half, j = r % half
        return h * headDim + 2 * j + i
    }

    /// The bytes with rows in Hugging Face order (the permutation undone). A row is a whole number of
    /// blocks, so quantized rows move unchanged.
    public func bytes() -> [UInt8] {
        guard permutedHeads != nil else { return Array(storedBytes) }
        let rows = shape[0], rowBytes = storedBytes.count / rows
        var out = [UInt8](repeating: 0, count: storedBytes.count)
        out.withUnsafeMutableBytes { destination in
            for r in 0..<rows {
                let source = UnsafeRawBufferPointer(rebasing: storedBytes[(storedRow(r) * rowBytes)..<((storedRow(r) + 1) * rowBytes)])
                destination.baseAddress!.advanced(by: r * rowBytes).copyMemory(from: source.baseAddress!, byteCount: rowBytes)
            }
        }
        return out
    }

    /// Types `floats()` decodes.
    public static let decodableTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q4_K, .q6_K]

    /// The values as fp32 in Hugging Face order: F32 copied, F16/BF16 widened exactly, the block types
    /// decoded as gguf-py's `quants.dequantize` (ggml's `dequantize_row_*`).
    /// - Throws: `CheckpointError.badTensor` naming the tensor and its type when the type is not one of
    ///   `decodableTypes`.
    public func floats() throws -> [Float] {
        let raw = bytes()
        switch type {
        case .f32:
            return raw.withUnsafeBytes { b in (0..<elementCount).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
        case .f16:
            return raw.withUnsafeBytes { b in (0..<elementCount).map { F16.decode(UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) } }
        case .bf16:
            return raw.withUnsafeBytes { b in (0..<elementCount).map { BF16.decode(UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) } }
        case .q8_0:
            return Q8_0.dequantize(raw)
        case .q4_0:
            return Q4_0.dequantize(raw)
        case .q4_1:
            return raw.withUnsafeBytes { Q4_1.dequantize($0, count: elementCount) }
        case .q5_0:
            return raw.withUnsafeBytes { Q5_0.dequantize($0, count: elementCount) }
        case .q4_K:
            return raw.withUnsafeBytes { Q4_K.dequantize($0, count: elementCount) }
        case .q6_K:
            return raw.withUnsafeBytes { Q6_K.dequantize($0, count: elementCount) }
        default:
            throw GGUFWeight.unsupported(type, path: path, tensor: tensorName)
        }
    }

    /// The one message for a tensor of a type `floats()` cannot decode, naming the file, the tensor, its type
    /// and the types mixtral-lab reads.
    static func unsupported(_ type: GGMLType, path: String, tensor: String) -> CheckpointError {
        .badTensor(path: path, tensor: tensor,
                   reason: "type \(type.name) is not supported (mixtral-lab reads \(decodableTypes.map(\.name).joined(separator: ", ")))")
    }
}

/// The tensors of a GGUF Mixtral under their Hugging Face names, so `Checkpoint` serves a GGUF file as it
/// serves a safetensors directory.
final class GGUFTensorSource: Sendable {
    let file: GGUFFile
    /// Hugging Face name → weight.
    let weights: [String: GGUFWeight]

    /// Maps every GGUF tensor to the Hugging Face tensors it holds (`GGUFTensorNames`).
    /// - Throws: `CheckpointError.badTensor` for a Mixtral tensor of a type mixtral-lab does not read
    ///   (`GGUFWeight.unsupported`: refused when the file is opened, so every command says the same before
    ///   it loads, writes or maps anything), with the wrong number of dimensions, a
    ///   stacked expert tensor whose expert count differs from the config, q/k rows that are not whole
    ///   pairs of heads, an empty dimension, or a weight present in both expert layouts.
    init(file: GGUFFile, config: MixtralConfig) throws {
        self.file = file
        var weights: [String: GGUFWeight] = [:]
        for tensor in file.tensors {
            func bad(_ reason: String) -> CheckpointError { .badTensor(path: file.path, tensor: tensor.name, reason: reason) }
            func add(_ name: String, shape: [Int], byteOffset: Int, byteCount: Int, permutedHeads: Int?) throws {
                guard weights[name] == nil else { throw bad("holds \(name), which another tensor holds too (both expert layouts?)") }
                weights[name] = GGUFWeight(
                    name: name, tensorName: tensor.name, type: tensor.type, shape: shape, permutedHeads: permutedHeads,
                    fileOffset: tensor.fileOffset + byteOffset,
                    storedBytes: UnsafeRawBufferPointer(rebasing: file.bytes(tensor)[byteOffset..<(byteOffset + byteCount)]),
                    path: file.path)
            }
            let shape = Array(tensor.dimensions.reversed())
            if GGUFTensorNames.role(ofGGUFName: tensor.name) != nil {
                guard GGUFWeight.decodableTypes.contains(tensor.type) else {
                    throw GGUFWeight.unsupported(tensor.type, path: file.path, tensor: tensor.name)
                }
                if shape.contains(where: { $0 <= 0 }) {
                    throw bad("has dimensions \(tensor.dimensions); a Mixtral tensor has no empty dimension")
                }
            }
            switch GGUFTensorNames.role(ofGGUFName: tensor.name) {
            case .tensor(let name):
                guard (1...2).contains(shape.count) else { throw bad("has dimensions \(tensor.dimensions); expected 1 or 2") }
                var heads: Int?
                if name.hasSuffix("self_attn.q_proj.weight") { heads = config.numAttentionHeads }
                if name.hasSuffix("self_attn.k_proj.weight") { heads = config.numKeyValueHeads }
                if let heads, shape.count != 2 || shape[0] % (2 * heads) != 0 {
                    throw bad("has \(shape[0]) rows, not whole pairs of rows for \(heads) heads (llama.cpp's RoPE permutation)")
                }
                try add(name, shape: shape, byteOffset: 0, byteCount: tensor.byteCount, permutedHeads: heads)
            case .stackedExperts(let layer, let w):
                guard shape.count == 3, shape[0] == config.numExperts else {
                    throw bad("has dimensions \(tensor.dimensions); expected [cols, rows, \(config.numExperts) experts]")
                }
                let sliceBytes = tensor.byteCount / config.numExperts
                for e in 0..<config.numExperts {
                    try add(GGUFTensorNames.expertName(layer: layer, expert: e, w: w), shape: [shape[1], shape[2]],
                            byteOffset: e * sliceBytes, byteCount: sliceBytes, permutedHeads: nil)
                }
            case nil:
                guard weights[tensor.name] == nil else { throw bad("name collides with a Mixtral tensor's Hugging Face name") }
                weights[tensor.name] = GGUFWeight(wholeTensor: tensor, in: file)
            }
        }
        self.weights = weights
    }
}
