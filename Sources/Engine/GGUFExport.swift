import Foundation
import Tensors
import Checkpoints
import Quantization

/// Precisions `GGUFExport` writes: the GGML type of the quantized tensors and the file's
/// `general.file_type` (llama.h `llama_ftype`: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q4_0 2, MOSTLY_Q8_0 7,
/// MOSTLY_BF16 32).
public enum GGUFExportPrecision: String, CaseIterable, Sendable {
    case fp32, f16, bf16, int8, q4

    public var ggmlType: GGMLType {
        switch self {
        case .fp32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .int8: return .q8_0
        case .q4: return .q4_0
        }
    }

    var fileType: UInt32 {
        switch self {
        case .fp32: return 0
        case .f16: return 1
        case .bf16: return 32
        case .int8: return 7
        case .q4: return 2
        }
    }

    /// The engine precision producing the same stored weights.
    var precision: Precision {
        switch self {
        case .fp32: return .fp32
        case .f16: return .f16
        case .bf16: return .bf16
        case .int8: return .int8
        case .q4: return .q4
        }
    }
}

/// Writes a checkpoint as one GGUF file laid out as llama.cpp's converter writes a Mixtral
/// (`convert_hf_to_gguf.py`: `LlamaModel`, `TextModel.set_gguf_parameters`, `ModelBase.prepare_tensors`),
/// so llama.cpp and Ollama run it and `Checkpoint` reads it back:
///
/// - metadata: `general.architecture = "llama"`, `general.type`, `general.name` (the checkpoint's folder
///   name), the `llama.*` hyper-parameters in the converter's order (block_count, context_length,
///   embedding_length, feed_forward_length, head_count, head_count_kv, rope.freq_base,
///   layer_norm_rms_epsilon, expert_count, expert_used_count, key_length, value_length), file_type,
///   vocab_size, rope.dimension_count, quantization_version 2, then the tokenizer (`GGUFExportVocabulary`).
///   The converter's heuristic `general.size_label` is not written.
/// - tensors: names from `GGUFTensorNames`, in the converter's order (Hugging Face names sorted, each
///   layer's experts written where they sort, as `ffn_gate_exps`, `ffn_down_exps`, `ffn_up_exps`
///   `[numExperts, rows, cols]`); q and k rows permuted as `LlamaModel.permute` does (k with the KV head
///   count); no `output.weight` when embeddings are tied.
/// - types: 1-D tensors, `*_norm.weight` and the router `ffn_gate_inp` stay F32; every other weight is
///   stored at the precision, with the bytes gguf-py's `quants.quantize` gives (Q8_0/Q4_0 blocks,
///   numpy's fp16 rounding, RNE bf16). A weight whose rows are not whole blocks of 32 falls back to F16,
///   as the converter does on gguf-py's `QuantError`.
public enum GGUFExport {
    /// What was written.
    public struct Report: Sendable {
        public let url: URL
        public let bytes: Int
        /// GGML type name → number of tensors, sorted by name.
        public let tensorsByType: [(type: String, count: Int)]
    }

    /// Exports `checkpoint` at `precision` to the file `url`.
    /// - Parameter overwrite: replace an existing file; otherwise refuse.
    /// - Throws: `CheckpointWriteError.wouldOverwrite`, `.outputIsInput`, `.isAFolder` (`url` is a folder),
    ///   `.missingFolder` (the file's folder does not exist), `.cannotWrite`;
    ///   `CheckpointError.malformedConfig` for a sliding window (llama.cpp's llama architecture has none),
    ///   `.badTensor` for a tensor without a GGUF name; `TokenizerError` for a missing or malformed
    ///   tokenizer.json; `QuantizeError` for weights the precision cannot store (NaN/Inf, fp16 overflow).
    public static func write(_ checkpoint: Checkpoint, precision: GGUFExportPrecision, to url: URL, overwrite: Bool,
                             progress: ((Int, Int) -> Void)? = nil) throws -> Report {
        let c = checkpoint.config
        if url.standardizedFileURL.resolvingSymlinksInPath().path == checkpoint.directory.standardizedFileURL.resolvingSymlinksInPath().path {
            throw CheckpointWriteError.outputIsInput(path: url.path)
        }
        try checkOutputFile(url, overwrite: overwrite)
        var isFolder: ObjCBool = false
        let folder = url.deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw CheckpointWriteError.missingFolder(path: folder.path)
        }
        if let window = c.slidingWindow, window < c.maxPositionEmbeddings {
            throw CheckpointError.malformedConfig(path: checkpoint.directory.path,
                                                  reason: "sliding_window \(window) cannot be written to GGUF: llama.cpp's llama architecture attends to the whole context")
        }
        var writer = GGUFWriter()
        for (key, value) in metadata(checkpoint, precision: precision) { writer.add(key, value) }
        for (key, value) in try GGUFExportVocabulary(checkpoint: checkpoint).entries { writer.add(key, value) }

        var counts: [String: Int] = [:]
        func add(_ name: String, _ type: GGMLType, dimensions: [Int], bytes: [UInt8]) {
            writer.addTensor(name, type: type, dimensions: dimensions, bytes: bytes)
            counts[type.name, default: 0] += 1
        }
        let names = checkpoint.tensorNames
        var layersWritten = Set<Int>()
        for (i, name) in names.enumerated() {
            progress?(i + 1, names.count)
            if let layer = expertLayer(name) {
                // The layer's experts, stacked [numExperts, rows, cols] per projection, where they sort.
                guard layersWritten.insert(layer).inserted else { continue }
                for (w, _) in GGUFTensorNames.expertProjections {
                    let (rows, cols) = w == "w2" ? (c.hiddenSize, c.intermediateSize) : (c.intermediateSize, c.hiddenSize)
                    var stacked: [UInt8] = []
                    var type = GGMLType.f32
                    for e in 0..<c.numExperts {
                        let expert = try weight("model.layers.\(layer).block_sparse_moe.experts.\(e).\(w).weight", rows: rows, cols: cols,
                                                in: checkpoint, precision: precision, permutedHeads: nil)
                        stacked += expert.bytes
                        type = expert.type
                    }
                    add(GGUFTensorNames.stackedExpertsName(layer: layer, w: w), type, dimensions: [cols, rows, c.numExperts], bytes: stacked)
                }
                continue
            }
            guard let ggufName = GGUFTensorNames.ggufName(ofHFName: name), let info = checkpoint.info(name) else {
                throw CheckpointError.badTensor(path: checkpoint.directory.path, tensor: name,
                                                reason: "has no GGUF name in llama.cpp's Mixtral layout")
            }
            if info.shape.count == 1 || ggufName.hasSuffix("_norm.weight") || ggufName.hasSuffix("ffn_gate_inp.weight") {
                let values = try checkpoint.floats(name)
                add(ggufName, .f32, dimensions: info.shape.reversed(), bytes: values.withUnsafeBytes { Array($0) })
                continue
            }
            let heads = name.hasSuffix("q_proj.weight") ? c.numAttentionHeads : name.hasSuffix("k_proj.weight") ? c.numKeyValueHeads : nil
            let stored = try weight(name, rows: info.shape[0], cols: info.shape[1], in: checkpoint, precision: precision, permutedHeads: heads)
            add(ggufName, stored.type, dimensions: info.shape.reversed(), bytes: stored.bytes)
        }
        let bytes = try writer.write(to: url, overwrite: overwrite)
        return Report(url: url, bytes: bytes, tensorsByType: counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    /// The layer of an expert projection name (`model.layers.N.block_sparse_moe.experts.E.wK.weight`), or nil.
    private static func expertLayer(_ name: String) -> Int? {
        guard name.contains(".block_sparse_moe.experts.") else { return nil }
        return Int(name.split(separator: ".")[2])
    }

    /// The weight `[rows, cols]` stored at `precision` (F16 when rows are not whole blocks of 32), rows
    /// reordered for llama.cpp's RoPE when `permutedHeads` is given.
    private static func weight(_ name: String, rows: Int, cols: Int, in checkpoint: Checkpoint, precision: GGUFExportPrecision,
                               permutedHeads: Int?) throws -> (type: GGMLType, bytes: [UInt8]) {
        var matrix = try checkpoint.matrix(name, rows: rows, cols: cols)
        if let heads = permutedHeads { matrix = permuteRows(matrix, heads: heads) }
        var target = precision.precision
        if [.int8, .q4].contains(target) && cols % ggmlBlockSize != 0 { target = .f16 }
        switch try quantize(matrix, to: target, tensorName: name) {
        case let dense as Matrix: return (.f32, dense.values.withUnsafeBytes { Array($0) })
        case let half as F16Matrix: return (.f16, half.storage.map(\.littleEndian).withUnsafeBytes { Array($0) })
        case let half as BF16Matrix: return (.bf16, half.storage.map(\.littleEndian).withUnsafeBytes { Array($0) })
        case let q8 as Q8_0Matrix: return (.q8_0, q8.blocks)
        case let q4 as Q4_0Matrix: return (.q4_0, q4.blocks)
        case let other: preconditionFailure("GGUFExport: \(target) gave \(type(of: other))")
        }
    }

    /// llama.cpp's `LlamaModel.permute`: within each head, rows `[2, headDim/2]` become `[headDim/2, 2]`
    /// (the inverse of `GGUFWeight.storedRow`).
    static func permuteRows(_ m: Matrix, heads: Int) -> Matrix {
        let headDim = m.rows / heads, half = headDim / 2
        var values = [Float](repeating: 0, count: m.values.count)
        for r in 0..<m.rows {
            let h = r / headDim, i = (r % headDim) / half, j = r % half
            let stored = h * headDim + 2 * j + i
            values[(stored * m.cols)..<((stored + 1) * m.cols)] = m.values[(r * m.cols)..<((r + 1) * m.cols)]
        }
        return Matrix(rows: m.rows, cols: m.cols, values: values)
    }

    /// The `general.*` and `llama.*` entries, in the converter's order.
    private static func metadata(_ checkpoint: Checkpoint, precision: GGUFExportPrecision) -> [(String, GGUFValue)] {
        let c = checkpoint.config
        func u32(_ n: Int) -> GGUFValue { .uint32(UInt32(n)) }
        return [
            ("general.architecture", .string("llama")),
            ("general.type", .string("model")),
            ("general.name", .string(checkpoint.directory.deletingPathExtension().lastPathComponent)),
            ("llama.block_count", u32(c.numHiddenLayers)),
            ("llama.context_length", u32(c.maxPositionEmbeddings)),
            ("llama.embedding_length", u32(c.hiddenSize)),
            ("llama.feed_forward_length", u32(c.intermediateSize)),
            ("llama.attention.head_count", u32(c.numAttentionHeads)),
            ("llama.attention.head_count_kv", u32(c.numKeyValueHeads)),
            ("llama.rope.freq_base", .float32(Float(c.ropeTheta))),
            ("llama.attention.layer_norm_rms_epsilon", .float32(c.rmsNormEps)),
            ("llama.expert_count", u32(c.numExperts)),
            ("llama.expert_used_count", u32(c.numExpertsPerToken)),
            ("llama.attention.key_length", u32(c.headDim)),
            ("llama.attention.value_length", u32(c.headDim)),
            ("general.file_type", .uint32(precision.fileType)),
            ("llama.vocab_size", u32(c.vocabSize)),
            ("llama.rope.dimension_count", u32(c.headDim)),
            ("general.quantization_version", .uint32(2)),
        ]
    }
}
