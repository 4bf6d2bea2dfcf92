import CBLAS
import CKernels
import Foundation

/// Weights (`rows · cols`) from which a product is split across cores; below it the dispatch (some
/// microseconds) costs about as much as the work. 2¹⁸ puts every projection of the `bench` preset (the
/// smallest: k/v, 256 × 1024) on both cores.
public let parallelWeightThreshold = 1 << 18

/// Batches of 2 to this many tokens multiply fp32 weights with `ck_f32_products` on the kernel threads, as
/// long as their activations are at most `batchActivationLimit`; larger ones take OpenBLAS's sgemm, whose
/// copy of the weight then pays off. One core, CPU time, bench-preset shapes, weights from memory
/// (2026-12-07, busy machine, load 9–13), GMAC/s ours against sgemm: 3584 × 1024 at 16 / 32 / 64 tokens
/// 25.8 / 30.4 / 34.8 against 14.8 / 19.9 / 27.7; 1024 × 1024 26.9 / 33.2 / 37.9 against 19.7 / 27.1 /
/// 35.9; 1024 × 3584 28.3 / 29.4 / 28.9 against 22.1 / 29.7 / 36.9 (there sgemm wins above 32 tokens);
/// 128 tokens: sgemm 37–38 against 29–38.
public let f32BatchLimit = 64

/// Largest `tokens · cols` (fp32 activations) for which a batch takes `ck_f32_products`: 2¹⁷ values
/// (512 KiB): 64 tokens of 1024 columns, 36 of 3584 (see `f32BatchLimit`).
public let batchActivationLimit = 1 << 17

/// The CPU's fastest `ck_f32_products` path (read once).
private let productPath = ck_best_path()

/// fp32 weights: one token with OpenBLAS's `cblas_sgemv`, batches of 2 to `f32BatchLimit` tokens with
/// `ck_f32_products` on the kernel threads, larger batches with OpenBLAS's `cblas_sgemm`. (One token on
/// the kernel threads, as `ck_f32_products` can: the same speed as sgemv on one core, but bench-preset fp32
/// decode on two ran 15.3–16.1 tok/s against sgemv's 19.7–20.6 in alternating runs, 2026-12-07, load 3–4.)
extension Matrix: LinearOperator {
    public var outFeatures: Int { rows }
    public var inFeatures: Int { cols }
    public var byteCount: Int { rows * cols * MemoryLayout<Float>.size }
    public var formatName: String { "fp32" }

    public func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        values.withUnsafeBufferPointer { w in
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(cols),
                        1, w.baseAddress, Int32(cols), x, 1, 0, y, 1)
        }
    }

    public func apply(batch n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        if n == 1 { return apply(x, into: y) }
        if n <= f32BatchLimit && n * cols <= batchActivationLimit { return products(n, x, into: y) }
        values.withUnsafeBufferPointer { w in
            // Y[n, rows] = X[n, cols] · Wᵀ[cols, rows]
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rows), Int32(cols),
                        1, x, Int32(cols), w.baseAddress, Int32(cols), 0, y, Int32(rows))
        }
    }

    /// `Y[n, rows] = X[n, cols] · Wᵀ` with `ck_f32_products`, rows split across the cores by the kernel
    /// threads (`forEachRowRange`, ranges of multiples of 4 rows) when the weight has at least
    /// `parallelWeightThreshold` values. (`DispatchQueue.concurrentPerform`, used before, woke its workers
    /// for every product and gave each core one half: a core held up by OpenBLAS's spinning worker or
    /// another process held up the product.)
    func products(_ n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let path = productPath
        values.withUnsafeBufferPointer { w in
            let base = w.baseAddress!
            forEachRowRange(rows: rows, cols: cols, rowMultiple: 4) { range in
                ck_f32_products(path, base + range.lowerBound * cols, Int32(range.count), Int32(cols), x, Int32(n),
                                y + range.lowerBound, rows)
            }
        }
    }

    public func dequantized() -> Matrix { self }

    public func decodeRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        values.withUnsafeBufferPointer { w in out.update(from: w.baseAddress! + range.lowerBound * cols, count: range.count * cols) }
    }
}

/// OpenBLAS thread count (`openblas_set_num_threads`). The engine is memory-bound at decode, so the
/// default of one thread per core is usually right.
public func setBLASThreads(_ n: Int) {
    openblas_set_num_threads(Int32(n))
}

/// `y = alpha · A x` for a row-major `A: [rows, cols]` whose rows are `rowStride` floats apart
/// (`cblas_sgemv`, no transpose) — e.g. attention scores of one query against the cached keys of one KV head.
/// - Parameters: `x`: `[cols]`; `y`: `[rows]`, overwritten.
public func stridedMatVec(_ a: UnsafePointer<Float>, rows: Int, cols: Int, rowStride: Int, _ x: UnsafePointer<Float>,
                          alpha: Float = 1, into y: UnsafeMutablePointer<Float>) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(cols), alpha, a, Int32(rowStride), x, 1, 0, y, 1)
}

/// `C[m, n] = alpha · A[m, k] · B` for row-major matrices whose rows are `aStride`, `bStride`, `cStride`
/// floats apart, where B is `Bᵀ` of a row-major `[n, k]` (`transposedB`, e.g. the cached keys of one KV
/// head: C = attention scores) or a row-major `[k, n]` (e.g. its cached values: C = attention output).
/// `cblas_sgemm` (one query, a decode step, takes `queryAttention`).
/// - Parameters: `a`: `[m, k]`; `b`: `[n, k]` or `[k, n]`; `c`: `[m, n]`, overwritten.
public func stridedMatMul(rows m: Int, cols n: Int, inner k: Int, alpha: Float = 1,
                          _ a: UnsafePointer<Float>, aStride: Int, _ b: UnsafePointer<Float>, bStride: Int,
                          transposedB: Bool, into c: UnsafeMutablePointer<Float>, cStride: Int) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, transposedB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
                alpha, a, Int32(aStride), b, Int32(bStride), 0, c, Int32(cStride))
}

/// One query's attention against `count` cached keys and values of one head (a decode step):
/// `scores[j] = scale · q·k_j`, softmax over them, then `out = Σ_j p_j · v_j` (`ck_query_scores`,
/// `softmax`, `ck_weighted_values`), on the calling thread. Rows of keys and values are `rowStride` floats
/// apart. OpenBLAS's sgemv would wake its threads above about 144 keys, and they then spin in
/// `sched_yield` beside the kernel threads (Sources/CKernels/attention_products.c).
/// - Parameters: `q`, `out`: `[headDim]`; `scores`: `[count]` working memory, left holding the probabilities.
public func queryAttention(_ q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                           count: Int, headDim: Int, rowStride: Int, scale: Float,
                           scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
    ck_query_scores(keys, Int32(count), Int32(headDim), rowStride, q, scale, scores)
    softmax(scores, count)
    ck_weighted_values(values, Int32(count), Int32(headDim), rowStride, scores, out)
}
