import Foundation
import Tensors

// Drivers shared by every packed format: they split work into row ranges and call the format's own
// kernels (matrix–vector products, `decodeRows`), which read the packed bytes directly.

/// With fp32 activations, batches of at most this many tokens are multiplied on the packed blocks (one
/// token at a time; Q8_0/Q4_0 all of them per group of rows read, `GGMLMatrix.applyExact`); above it,
/// decoding tiles to fp32 once for OpenBLAS pays off (with `--activations q8` every Q8_0/Q4_0 batch goes to
/// `GGMLMatrix.applyRounded`). Bench preset, 2 cores, prefill tok/s one token at a
/// time against by tiles: q4 60 against 10 for an 8-token prompt, 33 against 30 for 32 tokens, 32 against
/// 64 for 128 (the experts' batches are about a quarter of the prompt).
let perTokenBatchLimit = 32

/// `Y[n, rows] = X[n, cols] · Wᵀ` for a packed `W`: up to `perTokenBatchLimit` tokens, one
/// matrix–vector product (`matvec`) per token, exactly as in decoding; above it, by tiles of rows (about
/// 1 MiB of fp32) decoded with `decodeRows` and multiplied with OpenBLAS through `Matrix.apply(batch:)`,
/// the tile's columns scattered into `y`. Only one tile is ever held in fp32.
/// - Parameters:
///   - x: `[n, cols]` row-major; y: `[n, rows]` row-major, overwritten.
///   - matvec: `y[rows] = W · x[cols]`.
///   - decodeRows: writes rows `range` of W as fp32 `[range.count, cols]` to its pointer.
func applyBatch(rows: Int, cols: Int, n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                matvec: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
                decodeRows: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
    if n <= perTokenBatchLimit {
        for i in 0..<n { matvec(x + i * cols, y + i * rows) }
        return
    }
    applyByTiles(rows: rows, cols: cols, n: n, x, into: y, decodeRows: decodeRows)
}

/// `Y[n, rows] = X[n, cols] · Wᵀ` by tiles of rows (about 1 MiB of fp32) decoded with `decodeRows` on
/// all cores and multiplied through `Matrix.apply(batch:)` (`ck_f32_products` up to `f32BatchLimit`
/// tokens, OpenBLAS above), the tile's columns scattered into `y` (`applyBatch` above `perTokenBatchLimit`
/// tokens).
func applyByTiles(rows: Int, cols: Int, n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                  decodeRows: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
    let tileRows = max(1, min(rows, (1 << 18) / max(cols, 1)))
    var tile = Matrix(zeros: tileRows, cols)
    var tileOutput = [Float](repeating: 0, count: n * tileRows)
    var start = 0
    while start < rows {
        let count = min(tileRows, rows - start)
        if count != tile.rows { tile = Matrix(zeros: count, cols) }
        tile.values.withUnsafeMutableBufferPointer { decodeRowsOnAllCores(start..<(start + count), into: $0.baseAddress!, cols: cols, decodeRows) }
        tileOutput.withUnsafeMutableBufferPointer { out in
            let t = out.baseAddress!
            tile.apply(batch: n, x, into: t)   // t: [n, count]
            for i in 0..<n { (y + i * rows + start).update(from: t + i * count, count: count) }
        }
        start += count
    }
}

/// Rows `range` decoded with `decodeRows` into `out` (`[range.count, cols]`), the rows shared out among
/// the cores (`KernelThreads`, two chunks per core) whatever the tile's size: a tile holds the same values
/// however it is split (the calling thread alone used to decode while the other cores waited).
func decodeRowsOnAllCores(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>, cols: Int,
                          _ decodeRows: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
    let chunks = min(range.count, 2 * (KernelThreads.shared.workers + 1))
    KernelThreads.shared.run(chunks: chunks) { chunk in
        let lower = range.count * chunk / chunks, upper = range.count * (chunk + 1) / chunks
        if lower < upper { decodeRows((range.lowerBound + lower)..<(range.lowerBound + upper), out + lower * cols) }
    }
}

/// The whole weight decoded to fp32 `[rows, cols]` with `decodeRows` (for error measurement only).
func decodeAll(rows: Int, cols: Int, decodeRows: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) -> Matrix {
    var m = Matrix(zeros: rows, cols)
    m.values.withUnsafeMutableBufferPointer { out in
        let base = out.baseAddress!
        forEachRowRange(rows: rows, cols: cols) { range in decodeRows(range, base + range.lowerBound * cols) }
    }
    return m
}

/// Horizontal sum of a 16-lane accumulator as two 8-lane halves (cheaper than lane by lane).
@inline(__always)
func horizontalSum(_ v: SIMD16<Float>) -> Float {
    horizontalSum(v.lowHalf + v.highHalf)
}

/// Horizontal sum of an 8-lane accumulator as two 4-lane halves.
@inline(__always)
func horizontalSum(_ v: SIMD8<Float>) -> Float {
    let h4 = v.lowHalf + v.highHalf
    return (h4[0] + h4[2]) + (h4[1] + h4[3])
}
