import Checkpoints
import Engine
import Quantization
import Tensors

/// The plain-mmap baseline for benchmarks: fp32 experts computed straight from the memory-mapped
/// checkpoint, with no budget and no slots — the kernel's page cache decides what is in RAM, and every
/// page of an expert touched stays in the process's resident set (as file-backed pages) until memory runs
/// short. Only for checkpoints whose experts are untagged F32 tensors, run at fp32.
public final class MappedExperts: ExpertProvider, Sendable {
    private let checkpoint: Checkpoint
    /// `[layer][expert]` weights over the mapping.
    private let experts: [[ExpertWeights]]

    /// - Throws: `ExpertStoreError.mismatch` when the experts are not F32 tensors of the checkpoint
    ///   (`ExpertSource.inPlace` would need a conversion) or the spec does not give experts fp32.
    public init(checkpoint: Checkpoint, precision: PrecisionSpec) throws {
        guard let source = try ExpertSource.inPlace(checkpoint, precision: precision), source.layout.w1.format == .fp32 else {
            throw ExpertStoreError.mismatch(path: checkpoint.directory.path,
                                            reason: "computing experts from the mapped file needs F32 expert tensors and --precision with experts=fp32")
        }
        self.checkpoint = checkpoint
        let c = checkpoint.config
        experts = try (0..<c.numHiddenLayers).map { l in
            try (0..<c.numExperts).map { e in
                func mapped(_ w: String) throws -> any LinearOperator {
                    let (info, raw) = try checkpoint.rawBytes(WeightNames.expert(l, e, w))
                    return MappedMatrix(rows: info.shape[0], cols: info.shape[1], base: raw.baseAddress!.assumingMemoryBound(to: Float.self))
                }
                return ExpertWeights(w1: try mapped("w1"), w2: try mapped("w2"), w3: try mapped("w3"))
            }
        }
    }

    public func expertBytes(layer: Int) -> [Int] { experts[layer].map(\.byteCount) }
    public func layerRouted(model: MixtralModel, layer: Int, tokens: Int, chosen: UnsafePointer<Int>,
                            routerInput: UnsafePointer<Float>, firstPosition: Int) {}
    public func expert(layer: Int, _ expert: Int) -> ExpertWeights { experts[layer][expert] }
}

/// An fp32 weight `[rows, cols]` read in place from a mapping that outlives it (`MappedExperts` keeps the
/// checkpoint). Products go through `cblas_sgemv` row of input by row of input.
// @unchecked Sendable: `base` points into the checkpoint's read-only mapping, which `MappedExperts` keeps alive.
private struct MappedMatrix: LinearOperator, @unchecked Sendable {
    let rows: Int
    let cols: Int
    let base: UnsafePointer<Float>

    var outFeatures: Int { rows }
    var inFeatures: Int { cols }
    var byteCount: Int { rows * cols * MemoryLayout<Float>.size }
    var formatName: String { "fp32" }

    func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        stridedMatVec(base, rows: rows, cols: cols, rowStride: cols, x, into: y)
    }

    func apply(batch n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        for t in 0..<n { apply(x + t * cols, into: y + t * rows) }
    }

    func decodeRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        out.update(from: base + range.lowerBound * cols, count: range.count * cols)
    }

    func dequantized() -> Matrix {
        Matrix(rows: rows, cols: cols, values: Array(UnsafeBufferPointer(start: base, count: rows * cols)))
    }
}
