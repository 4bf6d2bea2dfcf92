import Foundation
import Checkpoints
import Engine
import Quantization

/// Where every expert of a model lies on disk, at the precision of a run: the files, the one layout all
/// experts share, and per expert the file and offset of each projection. Either the checkpoint itself
/// (when its expert tensors are already stored in the run's format) or an `ExpertStore`.
public final class ExpertSource: Sendable {
    /// A projection's first byte: file index into `files` and byte offset.
    public struct Location: Sendable, Equatable {
        public let file: Int
        public let offset: Int
    }

    public let files: [ExpertFile]
    public let layout: ExpertLayout
    /// `[layer][expert][projection]` (projections w1, w2, w3).
    let locations: [[[Location]]]
    /// Where the experts come from, for people: a file or store path and how it is read.
    public let description: String

    init(files: [ExpertFile], layout: ExpertLayout, locations: [[[Location]]], description: String) {
        self.files = files
        self.layout = layout
        self.locations = locations
        self.description = description
    }

    public var numLayers: Int { locations.count }

    /// Drops every expert's bytes from the page cache (`ExpertFile.dropPages`), and nothing else of the files.
    public func dropExpertPages() {
        for layer in locations {
            for expert in layer {
                for (projection, location) in zip(layout.projections, expert) {
                    files[location.file].dropPages(at: location.offset, count: projection.byteCount)
                }
            }
        }
    }
    public var numExperts: Int { locations.first?.count ?? 0 }

    /// The checkpoint's own file(s), when every expert tensor is stored exactly as the run holds it, so
    /// each projection is one contiguous byte range read in place with `pread` and no store is written:
    ///
    /// - safetensors: untagged F32 when the spec gives experts fp32, or the tensors `quantize` writes that
    ///   run as stored, whatever the spec says, as `MixtralModel(checkpoint:precision:)` does
    ///   (`Checkpoint.storedPrecision`): GGML Q8_0/Q4_0 blocks (int8, q4 and gptq4, whose products are
    ///   Q4_0's) and BF16/F16 tagged in `__metadata__`. GGML blocks are stored U8 `[rows, cols/32 · typeSize]`
    ///   (`QuantizedTensorLayout`): the same bytes, row after row, as a GGUF tensor's;
    /// - GGUF: Q8_0, Q4_0, F16 and BF16 experts (run as stored, whatever the spec says), F32 experts when
    ///   the spec gives experts fp32; stacked `ffn_*_exps` tensors (expert e is the e-th contiguous slice)
    ///   and per-expert `ffn_*.E` tensors alike (`GGUFWeight.fileOffset`). Expert rows are never
    ///   permuted (only attn_q/attn_k are), so the stored bytes are the slot's bytes: GGML blocks as
    ///   `GGMLMatrix` holds them, F16/BF16 as little-endian UInt16, F32 as little-endian Float.
    ///
    /// Nil otherwise (NF4, HQQ, awq4 — its input scale multiplies the input before the product, which a
    /// slot does not hold —, untagged safetensors 16-bit, other GGUF types, a conversion needed, or experts
    /// whose layouts differ between layers): the experts then come from an `ExpertStore`.
    /// - Throws: `ExpertStoreError.io` when a weights file cannot be opened.
    public static func inPlace(_ checkpoint: Checkpoint, precision: PrecisionSpec) throws -> ExpertSource? {
        let c = checkpoint.config
        let expertPrecision = precision.precision(for: .experts)
        var layout: ExpertLayout?
        var paths: [String] = []
        var locations: [[[Location]]] = []
        for l in 0..<c.numHiddenLayers {
            var layer: [[Location]] = []
            for e in 0..<c.numExperts {
                var projections: [(ProjectionLayout, Location)] = []
                for (w, rows, cols) in [("w1", c.intermediateSize, c.hiddenSize), ("w2", c.hiddenSize, c.intermediateSize),
                                        ("w3", c.intermediateSize, c.hiddenSize)] {
                    guard let stored = storedRange(checkpoint, WeightNames.expert(l, e, w), precision: expertPrecision) else { return nil }
                    let projection = ProjectionLayout(format: stored.format, rows: rows, cols: cols)
                    guard stored.shape == [rows, cols], projection.byteCount == stored.byteCount else { return nil }
                    if !paths.contains(stored.path) { paths.append(stored.path) }
                    projections.append((projection, Location(file: paths.firstIndex(of: stored.path)!, offset: stored.fileOffset)))
                }
                let expertLayout = ExpertLayout(w1: projections[0].0, w2: projections[1].0, w3: projections[2].0)
                guard layout == nil || layout == expertLayout else { return nil }
                layout = expertLayout
                layer.append(projections.map(\.1))
            }
            locations.append(layer)
        }
        guard let layout else { return nil }
        let files = try paths.map { try ExpertFile(path: $0) }
        return ExpertSource(files: files, layout: layout, locations: locations,
                            description: "\(paths.joined(separator: ", ")) (read in place, \(layout.formatNames))")
    }

    /// Where a tensor's bytes lie when they are read in place at `precision`, or nil.
    private static func storedRange(_ checkpoint: Checkpoint, _ name: String,
                                    precision: Precision) -> (path: String, fileOffset: Int, byteCount: Int, shape: [Int], format: ProjectionLayout.Format)? {
        if checkpoint.gguf != nil {
            guard let weight = checkpoint.ggufWeight(name), weight.permutedHeads == nil,
                  let format = inPlaceFormat(weight.type, precision: precision) else { return nil }
            return (weight.path, weight.fileOffset, weight.storedBytes.count, weight.shape, format)
        }
        guard let file = checkpoint.files.first(where: { $0.tensors[name] != nil }), let info = file.tensors[name],
              let format = inPlaceFormat(checkpoint, name, info, file: file, precision: precision),
              let shape = weightShape(stored: info.shape, format) else { return nil }
        return (file.path, info.fileOffset, info.byteCount, shape, format)
    }

    /// The weight's `[rows, cols]` from a safetensors tensor's stored shape: GGML blocks are stored U8
    /// `[rows, cols/32 · typeSize]` (`QuantizedTensorLayout`), so their columns are counted back from whole
    /// blocks; any other format is stored `[rows, cols]`. Nil when a stored row is not whole blocks.
    private static func weightShape(stored shape: [Int], _ format: ProjectionLayout.Format) -> [Int]? {
        let typeSize: Int
        switch format {
        case .q8_0: typeSize = Q8_0.typeSize
        case .q4_0: typeSize = Q4_0.typeSize
        default: return shape
        }
        guard shape.count == 2, shape[1] % typeSize == 0 else { return nil }
        return [shape[0], shape[1] / typeSize * ggmlBlockSize]
    }

    /// The streamed format of a GGUF tensor type read in place, or nil: the types `QuantizedWeights.stored`
    /// keeps as stored, and F32 when the run holds experts at fp32.
    static func inPlaceFormat(_ type: GGMLType, precision: Precision) -> ProjectionLayout.Format? {
        switch type {
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .f16: return .f16
        case .bf16: return .bf16
        case .f32: return precision == .fp32 ? .fp32 : nil
        default: return nil
        }
    }

    /// The streamed format of a safetensors tensor read in place, or nil: a tensor tagged in `__metadata__`
    /// by the precision it runs as stored (`Checkpoint.storedPrecision`), when its bytes are one contiguous
    /// run of that format; an untagged F32 tensor when the run holds experts at fp32.
    private static func inPlaceFormat(_ checkpoint: Checkpoint, _ name: String, _ info: TensorInfo, file: SafeTensorsFile,
                                      precision: Precision) -> ProjectionLayout.Format? {
        guard file.metadata[name] != nil else { return info.dtype == .f32 && precision == .fp32 ? .fp32 : nil }
        guard file.metadata[QuantizedTensorLayout.formatKey] == QuantizedTensorLayout.ggmlFormat else { return nil }
        switch (checkpoint.storedPrecision(name), info.dtype) {
        case (.int8?, .u8): return .q8_0
        case (.q4?, .u8), (.gptq4?, .u8): return .q4_0   // GPTQ chose the codes; GPTQMatrix runs Q4_0's products
        case (.bf16?, .bf16): return .bf16
        case (.f16?, .f16): return .f16
        default: return nil   // awq4 (an input scale beside the blocks), HQQ (codes, scales and zero-points apart)
        }
    }
}
