import Foundation
import Checkpoints
import Engine
import Quantization

/// Where every expert of a model lies on disk, at the precision of a run: the files, the one layout all
/// experts share, and per expert the file and offset of each projection. Either the checkpoint itself
/// (when its expert tensors are already stored in the run's format) or an `ExpertStore`.
public final class ExpertSource: @unchecked Sendable {
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
    public var numExperts: Int { locations.first?.count ?? 0 }

    /// The checkpoint's own files, when every expert tensor is stored exactly as the run holds it:
    /// untagged F32 when the spec gives experts fp32, or GGML Q8_0/Q4_0 blocks tagged in `__metadata__`
    /// (used as stored, whatever the spec says, as `MixtralModel(checkpoint:precision:)` does). Each
    /// projection is then one contiguous range of a safetensors file, read in place. Nil otherwise (NF4,
    /// 16-bit, or a conversion needed): the experts then come from an `ExpertStore`.
    /// - Throws: `ExpertStoreError.io` when a weights file cannot be opened.
    public static func inPlace(_ checkpoint: Checkpoint, precision: PrecisionSpec) throws -> ExpertSource? {
        let c = checkpoint.config
        var layout: ExpertLayout?
        var paths: [String] = []
        var locations: [[[Location]]] = []
        for l in 0..<c.numHiddenLayers {
            var layer: [[Location]] = []
            for e in 0..<c.numExperts {
                var projections: [(ProjectionLayout, Location)] = []
                for (w, rows, cols) in [("w1", c.intermediateSize, c.hiddenSize), ("w2", c.hiddenSize, c.intermediateSize),
                                        ("w3", c.intermediateSize, c.hiddenSize)] {
                    let name = WeightNames.expert(l, e, w)
                    guard let file = checkpoint.files.first(where: { $0.tensors[name] != nil }), let info = file.tensors[name],
                          let format = inPlaceFormat(info, tag: file.metadata[name], file: file, precision: precision.precision(for: .experts)) else {
                        return nil
                    }
                    let projection = ProjectionLayout(format: format, rows: rows, cols: cols)
                    guard projection.byteCount == info.byteCount else { return nil }
                    if !paths.contains(file.path) { paths.append(file.path) }
                    projections.append((projection, Location(file: paths.firstIndex(of: file.path)!, offset: info.fileOffset)))
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
                            description: "\(paths.joined(separator: ", ")) (read in place, \(layout.w1.format.rawValue))")
    }

    /// The streamed format of a checkpoint tensor read in place, or nil.
    private static func inPlaceFormat(_ info: TensorInfo, tag: String?, file: SafeTensorsFile, precision: Precision) -> ProjectionLayout.Format? {
        if let tag {
            guard info.dtype == .u8, file.metadata[QuantizedTensorLayout.formatKey] == QuantizedTensorLayout.ggmlFormat else { return nil }
            switch tag {
            case Q8_0.ggmlName: return .q8_0
            case Q4_0.ggmlName: return .q4_0
            default: return nil
            }
        }
        return info.dtype == .f32 && precision == .fp32 ? .fp32 : nil
    }
}
