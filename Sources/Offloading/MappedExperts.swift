import Checkpoints
import Engine
import Quantization
import Tensors

/// The plain-mmap baseline for benchmarks: experts computed straight from the memory-mapped checkpoint,
/// with no budget and no slots — the kernel's page cache decides what is in RAM, as in llama.cpp's mmap,
/// and every page of an expert touched stays in the process's resident set (as file-backed pages) until
/// memory runs short. For checkpoints whose experts are read in place (`ExpertSource.inPlace`) as F32 run at
/// fp32, or as GGML Q8_0/Q4_0 blocks, which the kernels read in the file's own layout
/// (`GGMLMatrix.Storage.mapped`): the same bits as the resident model, with only the cache changed.
public final class MappedExperts: ExpertProvider, Sendable {
    /// The formats computed from the mapping.
    public static let formats: Set<ProjectionLayout.Format> = [.fp32, .q8_0, .q4_0]
    private let checkpoint: Checkpoint
    /// `[layer][expert]` weights over the mapping.
    private let experts: [[ExpertWeights]]

    /// - Throws: `ExpertStoreError.mismatch` when the experts are not read in place (`ExpertSource.inPlace`
    ///   would need a conversion) in one of `formats`.
    public convenience init(checkpoint: Checkpoint, precision: PrecisionSpec) throws {
        guard let source = try ExpertSource.inPlace(checkpoint, precision: precision), Self.formats.contains(source.layout.w1.format) else {
            throw ExpertStoreError.mismatch(path: checkpoint.directory.path,
                                            reason: "computing experts from the mapped file needs F32 expert tensors run at experts=fp32, or Q8_0/Q4_0 ones")
        }
        try self.init(checkpoint: checkpoint, source: source)
    }

    /// The experts where `source` (the checkpoint's in-place source, its format one of `formats`) says they lie.
    /// - Throws: checkpoint errors reading the expert tensors.
    public init(checkpoint: Checkpoint, source: ExpertSource) throws {
        precondition(Self.formats.contains(source.layout.w1.format), "MappedExperts: \(source.layout.w1.format) is not computed from a mapping")
        self.checkpoint = checkpoint
        let c = checkpoint.config
        experts = try (0..<c.numHiddenLayers).map { l in
            try (0..<c.numExperts).map { e in
                let operators: [any LinearOperator] = try zip(["w1", "w2", "w3"], source.layout.projections).map { w, projection in
                    let (_, raw) = try checkpoint.rawBytes(WeightNames.expert(l, e, w))
                    let base = raw.baseAddress!, rows = projection.rows, cols = projection.cols
                    switch projection.format {
                    case .q8_0: return Q8_0Matrix(rows: rows, cols: cols, mapped: BorrowedBlocks(address: base, byteCount: raw.count, owner: checkpoint))
                    case .q4_0: return Q4_0Matrix(rows: rows, cols: cols, mapped: BorrowedBlocks(address: base, byteCount: raw.count, owner: checkpoint))
                    default: return MappedMatrix(rows: rows, cols: cols, base: base.assumingMemoryBound(to: Float.self))
                    }
                }
                return ExpertWeights(w1: operators[0], w2: operators[1], w3: operators[2])
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
