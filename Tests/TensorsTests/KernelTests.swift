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

/// Batches of 2…`smallBatchLimit` tokens (`ck_f32_products`): within rounding of the formula on shapes
/// whose rows are no multiple of 4 and columns no multiple of 8, and the same bits whether the rows are
/// split across cores (1029 × 256 ≥ `parallelWeightThreshold`) or not.
@Test func smallBatchesMatchTheFormulaAndDoNotDependOnTheSplit() {
    for (rows, cols) in [(13, 37), (1029, 256)] {
        let w = Matrix(rows: rows, cols: cols, values: (0..<(rows * cols)).map { Float(($0 * 7919) % 201) / 100 - 1 })
        for n in [2, 5, smallBatchLimit] {
            let x: [Float] = (0..<(n * cols)).map { Float(($0 * 104729) % 97) / 50 - 1 }
            var y = [Float](repeating: .nan, count: n * rows), whole = y
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { w.apply(batch: n, xp.baseAddress!, into: $0.baseAddress!) }
                w.values.withUnsafeBufferPointer { wp in
                    whole.withUnsafeMutableBufferPointer {
                        ck_f32_products(wp.baseAddress!, Int32(rows), Int32(cols), xp.baseAddress!, Int32(n), $0.baseAddress!, rows)
                    }
                }
            }
            #expect(y.map(\.bitPattern) == whole.map(\.bitPattern), "[\(rows) × \(cols)] × \(n)")
            for t in 0..<n {
                for r in 0..<rows {
                    var expected = 0.0
                    for c in 0..<cols { expected += Double(w.values[r * cols + c]) * Double(x[t * cols + c]) }
                    #expect(abs(Double(y[t * rows + r]) - expected) <= 1e-5 * Double(cols), "[\(rows) × \(cols)] × \(n): token \(t) row \(r)")
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
