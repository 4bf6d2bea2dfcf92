import Testing
import Foundation
import CKernels
@testable import Tensors

@Test func denseMatvecAndMatmulAgree() {
    let w = Matrix(rows: 3, cols: 20, values: (0..<60).map { Float($0 % 7) - 3 })
    let x: [Float] = (0..<40).map { Float($0) * 0.25 - 2 }   // two rows of 20
    var y = [Float](repeating: 0, count: 6)
    x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
        w.apply(batch: 2, xp.baseAddress!, into: yp.baseAddress!) } }
    for r in 0..<2 {
        let single = w.apply(Array(x[(r * 20)..<((r + 1) * 20)]))
        for o in 0..<3 {
            var expected: Float = 0
            for c in 0..<20 { expected += w.values[o * 20 + c] * x[r * 20 + c] }
            #expect(abs(single[o] - expected) < 1e-4)
            #expect(abs(y[r * 3 + o] - expected) < 1e-4)
        }
    }
}

/// `ck_f32_products` on the given path, all rows in one call (no split across threads).
private func f32Products(_ path: ck_path, _ w: Matrix, _ x: [Float], tokens n: Int) -> [Float] {
    var y = [Float](repeating: .nan, count: n * w.rows)
    w.values.withUnsafeBufferPointer { wp in x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer {
        ck_f32_products(path, wp.baseAddress!, Int32(w.rows), Int32(w.cols), xp.baseAddress!, Int32(n), $0.baseAddress!, w.rows)
    } } }
    return y
}

/// fp32 products (`ck_f32_products`, Sources/CKernels/products_f32.c, on every path this CPU runs; and
/// `Matrix.apply`, which splits rows across the kernel threads and takes OpenBLAS's sgemv for one token
/// and sgemm above `f32BatchLimit` tokens) against the plain formula summed in Double, on odd shapes: one 8-column chunk,
/// fewer columns than a chunk, rows divisible neither by the 4-row tile nor by the thread count, columns no
/// multiple of 8, 1/2/7/9/33/65 tokens (tiles of 3 and 2 tokens; 65 tokens of 3001 columns span 4 token
/// blocks), 1029 × 256 split across the threads. fp32 sums in another order than the reference's are not
/// bit-identical to it, so the bound is the one of recursive summation: every rounding on a result's
/// longest chain of additions (cols/8 fused steps per lane, 7 adding the lanes, 2 per column past the last
/// multiple of 8, one for the product) errs by at most 2⁻²⁴ of Σ|w·x|; twice that is allowed.
/// Bit for bit: the same path gives the same bits whatever the rows' split across threads, and a token's
/// result in a batch is the same bits as that token alone (each row and token is its own chain of roundings).
@Test func f32ProductsMatchTheFormulaOnOddShapes() {
    var paths = [CK_PATH_SCALAR]
    if ck_path_available(CK_PATH_AVX2) != 0 { paths.append(CK_PATH_AVX2) }
    let best = ck_best_path()   // what `Matrix.apply` runs: the AVX2 loop on AVX2 and AVX-VNNI CPUs, else plain C
    let appliedPath = best == CK_PATH_AVX2 || best == CK_PATH_AVX_VNNI ? CK_PATH_AVX2 : CK_PATH_SCALAR
    for (rows, cols) in [(1, 8), (2, 5), (3, 7), (13, 37), (7, 264), (6, 3001), (1029, 256)] {
        let w = Matrix(rows: rows, cols: cols, values: (0..<(rows * cols)).map { Float(($0 * 7919) % 201) / 100 - 1 })
        for n in [1, 2, 7, 9, 33, 65] {
            let x: [Float] = (0..<(n * cols)).map { Float(($0 * 104729) % 97) / 50 - 1 }
            var applied = [Float](repeating: .nan, count: n * rows)
            x.withUnsafeBufferPointer { xp in applied.withUnsafeMutableBufferPointer { w.apply(batch: n, xp.baseAddress!, into: $0.baseAddress!) } }
            let ours = n > 1 && n <= f32BatchLimit && n * cols <= batchActivationLimit   // else sgemv or sgemm
            let chain = cols / 8 + 7 + 2 * (cols % 8) + 1
            var outputs = [("apply", applied, ours ? chain : cols + 1)]   // OpenBLAS: at worst one chain of cols additions
            for path in paths {
                let y = f32Products(path, w, x, tokens: n)
                outputs.append(("path \(path.rawValue)", y, chain))
                if path == appliedPath, ours {
                    #expect(applied.map(\.bitPattern) == y.map(\.bitPattern), "[\(rows) × \(cols)] × \(n): split across threads")
                }
                if n > 1 {   // a batch's token 1 alone: the same bits
                    let alone = f32Products(path, w, Array(x[cols..<(2 * cols)]), tokens: 1)
                    #expect(alone.map(\.bitPattern) == Array(y[rows..<(2 * rows)]).map(\.bitPattern), "[\(rows) × \(cols)] × \(n): token 1 alone")
                }
            }
            for t in 0..<n {
                for r in 0..<rows {
                    var expected = 0.0, magnitude = 0.0
                    for c in 0..<cols {
                        let product = Double(w.values[r * cols + c]) * Double(x[t * cols + c])
                        expected += product
                        magnitude += abs(product)
                    }
                    for (name, y, chain) in outputs {
                        let bound = 2 * Double(chain) * 0x1p-24 * magnitude
                        let error = abs(Double(y[t * rows + r]) - expected)
                        #expect(error <= bound, "\(name) [\(rows) × \(cols)] × \(n): token \(t) row \(r) off by \(error) > \(bound)")
                    }
                }
            }
        }
    }
}

@Test func ropeMatchesDirectFormulaAtLargePositions() {
    // Position 5000, theta 1e4 vs 1e6: the tables differ, and each matches cos/sin(p / theta^(2i/d)).
    let d = 8
    for theta in [1e4, 1e6] {
        let rope = RotaryEmbedding(headDim: d, theta: theta)
        let (c, s) = rope.table(position: 5000)
        for i in 0..<(d / 2) {
            let angle = 5000.0 / pow(theta, Double(2 * i) / Double(d))
            #expect(abs(Double(c[i]) - cos(angle)) < 2e-3)
            #expect(abs(Double(s[i]) - sin(angle)) < 2e-3)
        }
    }
    let a = RotaryEmbedding(headDim: d, theta: 1e4).table(position: 5000)
    let b = RotaryEmbedding(headDim: d, theta: 1e6).table(position: 5000)
    #expect(a.cos != b.cos)
}

@Test func softmaxSumsToOneAndRmsNormScales() {
    let p = softmax([1, 2, 3, 1000])
    #expect(abs(p.reduce(0, +) - 1) < 1e-6)
    #expect(p[3] > 0.999)
    var x: [Float] = [3, 4]
    let w: [Float] = [1, 2]
    var y = [Float](repeating: 0, count: 2)
    x.withUnsafeMutableBufferPointer { xp in w.withUnsafeBufferPointer { wp in y.withUnsafeMutableBufferPointer { yp in
        rmsNorm(xp.baseAddress!, weight: wp.baseAddress!, eps: 0, n: 2, into: yp.baseAddress!) } } }
    let rms = Float((25.0 / 2).squareRoot())
    #expect(abs(y[0] - 3 / rms) < 1e-6 && abs(y[1] - 8 / rms) < 1e-6)
}
