import Foundation
import Testing
import Tensors
@testable import Quantization

// HQQ with `--activations q8` (Sources/CKernels/hqq_products.c): integer inner sums against a Swift
// reference of the formula, bit for bit, for each kernel this CPU runs; and the distance to the
// fp32-activation path bounded by the activations' rounding.

/// `y = Σ_g s_g · Σ_segments d · (I − z_g · A)` written from the formula (hqq_products.c): the activations
/// rounded as llama.cpp rounds them (d = amax/127 in fp16, codes round-half-to-even(x · 127/amax)); per
/// segment of min(g, 32) values the integers I = Σ q·a, A = Σ a; per group dot = fma(d, I, dot),
/// asum = fma(d, A, asum) in segment order, then y = fma(s, fma(−z, asum, dot), y) in group order.
private func referenceRoundedProducts(_ w: HQQMatrix, _ x: [Float], tokens n: Int) -> [Float] {
    let g = w.settings.groupSize, groups = w.cols / g, segment = min(g, 32)
    let codes = HQQPacking.unpack(w.packed, bits: w.settings.bits, groupSize: g)
    var scales = [Float](repeating: 0, count: w.rows * groups), zeros = scales
    scales.withUnsafeMutableBufferPointer { s in
        zeros.withUnsafeMutableBufferPointer { z in w.parameters.decode(0..<(w.rows * groups), scales: s.baseAddress!, zeros: z.baseAddress!) }
    }
    var y = [Float](repeating: 0, count: n * w.rows)
    for t in 0..<n {
        var a = [Int](repeating: 0, count: w.cols), d = [Float](repeating: 0, count: w.cols / 32)
        for b in 0..<(w.cols / 32) {
            let block = x[(t * w.cols + 32 * b)..<(t * w.cols + 32 * b + 32)]
            let amax = block.map(abs).max()!
            let inverse: Float = amax != 0 ? 127 / amax : 0
            for (j, v) in block.enumerated() { a[32 * b + j] = Int((v * inverse).rounded(.toNearestOrEven)) }
            d[b] = Float(Float16(amax / 127))
        }
        for r in 0..<w.rows {
            var total: Float = 0
            for k in 0..<groups {
                var dot: Float = 0, asum: Float = 0
                for start in stride(from: k * g, to: (k + 1) * g, by: segment) {
                    var i = 0, sum = 0
                    for c in start..<(start + segment) {
                        i += Int(codes[r * w.cols + c]) * a[c]
                        sum += a[c]
                    }
                    dot.addProduct(d[start / 32], Float(i))
                    asum.addProduct(d[start / 32], Float(sum))
                }
                var inner = dot
                inner.addProduct(-zeros[r * groups + k], asum)
                total.addProduct(scales[r * groups + k], inner)
            }
            y[t * w.rows + r] = total
        }
    }
    return y
}

/// Settings: the three precisions (8-bit scales and zero-points), fp16 metadata, and group sizes 8, 32
/// and 128 (segments of 8 values; one segment per group; four per group).
private let settings: [HQQ.Settings] = [.paper(bits: 4), .paper(bits: 3), .paper(bits: 2), .halfMetadata(bits: 4),
                                        .halfMetadata(bits: 2),
                                        HQQ.Settings(bits: 3, groupSize: 8, scaleGroupSize: nil),
                                        HQQ.Settings(bits: 4, groupSize: 32, scaleGroupSize: 64),
                                        HQQ.Settings(bits: 2, groupSize: 128, scaleGroupSize: nil)]

/// (rows, cols, tokens): one group row, odd row counts, 1-, 2- and 33-token batches; the last two are
/// split across the kernel threads (≥ 2¹⁸ weights × tokens).
private let shapes = [(1, 128, 1), (7, 256, 2), (13, 384, 33), (1029, 256, 1), (301, 128, 33)]

@Test(arguments: IntegerKernel.allCases.filter(\.isAvailable))
func hqqRoundedProductsFollowTheReferenceArithmeticBitForBit(kernel: IntegerKernel) throws {
    var seed: UInt64 = 70
    for s in settings {
        for (rows, cols, n) in shapes {
            seed += 1
            let w = try HQQMatrix(quantizing: Matrix(rows: rows, cols: cols, values: randomWeights(rows * cols, seed: seed)),
                                  tensorName: "w", settings: s)
            #expect(w.takesRoundedActivations)
            var x = randomWeights(n * cols, seed: seed + 500, scale: 1)
            for j in 0..<32 { x[j] = 0 }   // an all-zero activation block
            var y = [Float](repeating: .nan, count: n * rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { w.applyRounded(batch: n, xp.baseAddress!, into: $0.baseAddress!, kernel: kernel) }
            }
            let expected = referenceRoundedProducts(w, x, tokens: n)
            let mismatches = zip(y, expected).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(mismatches == 0, "\(w.formatName) \(kernel) [\(rows) × \(cols)] × \(n): \(mismatches) of \(y.count) differ")
        }
    }
}

/// Under `--activations q8` `apply` and `apply(batch:)` take the integer path; each output differs from the
/// fp32-activation one by at most the activations' rounding, Σ_b d_x/2 · Σ_j |w| (plus fp32 slack).
@Test func hqqRoundedActivationsStayWithinTheirRoundingErrorOfFp32() throws {
    for s in [HQQ.Settings.paper(bits: 4), .paper(bits: 2)] {
        let rows = 37, cols = 256
        let w = try HQQMatrix(quantizing: Matrix(rows: rows, cols: cols, values: randomWeights(rows * cols, seed: 90)),
                              tensorName: "w", settings: s)
        let decoded = w.dequantized()
        for n in [1, 3] {
            let x = randomWeights(n * cols, seed: 91, scale: 1)
            var exact = [Float](repeating: 0, count: n * rows), rounded = exact
            x.withUnsafeBufferPointer { xp in
                exact.withUnsafeMutableBufferPointer { w.apply(batch: n, xp.baseAddress!, into: $0.baseAddress!) }
                ActivationPrecision.$current.withValue(.q8) {
                    rounded.withUnsafeMutableBufferPointer { out in
                        if n == 1 { w.apply(xp.baseAddress!, into: out.baseAddress!) }
                        else { w.apply(batch: n, xp.baseAddress!, into: out.baseAddress!) }
                    }
                }
            }
            #expect(rounded.map(\.bitPattern) == referenceRoundedProducts(w, x, tokens: n).map(\.bitPattern), "\(w.formatName) × \(n)")
            for t in 0..<n {
                for r in 0..<rows {
                    var bound: Float = 0
                    for b in 0..<(cols / 32) {
                        let amax = x[(t * cols + 32 * b)..<(t * cols + 32 * b + 32)].map(abs).max()!
                        bound += amax / 127 / 2 * (0..<32).reduce(0) { $0 + abs(decoded.values[r * cols + 32 * b + $1]) }
                    }
                    let difference = abs(rounded[t * rows + r] - exact[t * rows + r])
                    #expect(difference <= bound * 1.01 + 1e-4, "\(w.formatName) token \(t) row \(r): \(difference) > \(bound)")
                }
            }
        }
    }
}
