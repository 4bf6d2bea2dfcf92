import Foundation
import Testing
import Tensors
@testable import Quantization

// Q8_0/Q4_0 weights times fp32 activations (the default and reference path, Sources/CKernels/
// products_f32_activations.c): each kernel this CPU runs (plain C and AVX2) against a Swift reference that
// reads the GGUF layout, bit for bit. The reference is the arithmetic of the Swift row kernel that ran
// before the interleaved layout (eight lanes, even and odd blocks in two accumulators), so the results of
// int8/q4 with fp32 activations are the bits they were.

/// `Σ_b d_w · Σ_j w·x` for every row and token, from the GGUF blocks (`w.blocks`), in the fixed arithmetic
/// (products_f32_activations.c): per block s0 = w[j]·x[j], s1 = w[j+8]·x[j+8], then fused s0 += w[j+16]·
/// x[j+16], s1 += w[j+24]·x[j+24], acc_p += (s0 + s1)·d fused (p the block's parity); Q4_0 also
/// e_p += d·Σx_b fused and 8·(e_0 + e_1) off lane 0; the lanes summed by `horizontalSum`.
func referenceFP32Products<Format: GGMLBlockFormat>(_ w: GGMLMatrix<Format>, _ x: [Float], tokens n: Int) -> [Float] {
    let blocks = w.cols / 32, cols = w.cols
    let bytes = w.blocks
    var y = [Float](repeating: 0, count: n * w.rows)
    for t in 0..<n {
        var sums = [Float](repeating: 0, count: blocks)
        x.withUnsafeBufferPointer { blockSums($0.baseAddress! + t * cols, blocks: blocks, into: &sums) }
        for r in 0..<w.rows {
            var acc = [SIMD8<Float>(repeating: 0), SIMD8<Float>(repeating: 0)]
            var scaledSums: [Float] = [0, 0]
            for b in 0..<blocks {
                let block = (r * blocks + b) * Format.typeSize
                let d = Float(Float16(bitPattern: UInt16(bytes[block]) | UInt16(bytes[block + 1]) << 8))
                let codes: [Float] = (0..<32).map { j in
                    if Format.self == Q4_0.self {
                        let byte = Int(bytes[block + 2 + j % 16])
                        return Float(j < 16 ? byte & 15 : byte >> 4)
                    }
                    return Float(Int8(bitPattern: bytes[block + 2 + j]))
                }
                func lanes(_ v: [Float], _ start: Int) -> SIMD8<Float> { SIMD8(v[start..<(start + 8)]) }
                let xb = Array(x[(t * cols + 32 * b)..<(t * cols + 32 * b + 32)])
                var s0 = lanes(codes, 0) * lanes(xb, 0)
                var s1 = lanes(codes, 8) * lanes(xb, 8)
                s0.addProduct(lanes(codes, 16), lanes(xb, 16))
                s1.addProduct(lanes(codes, 24), lanes(xb, 24))
                acc[b % 2].addProduct(s0 + s1, SIMD8(repeating: d))
                scaledSums[b % 2].addProduct(d, sums[b])
            }
            var total = acc[0] + acc[1]
            if Format.codeOffset != 0 { total[0] -= Format.codeOffset * (scaledSums[0] + scaledSums[1]) }
            y[t * w.rows + r] = horizontalSum(total)
        }
    }
    return y
}

/// (rows, blocks, tokens): one block; row counts that neither the thread count nor the groups of 8 rows
/// divide (a last group stored as in GGUF); 1-, 2- and 33-token batches; shapes with ≥ 2¹⁸ weights ×
/// tokens are split across the kernel threads (1029 × 256 × 1, 301 × 256 × 33).
private let shapes = [(1, 1, 1), (3, 1, 33), (7, 3, 1), (8, 1, 2), (13, 5, 33), (9, 33, 2), (17, 2, 3), (16, 3, 5),
                      (1029, 8, 1), (301, 8, 33), (203, 24, 2)]

private func checkProducts<Format: GGMLBlockFormat>(_: Format.Type, kernel: IntegerKernel) throws {
    var seed: UInt64 = 31
    for (rows, blocks, n) in shapes {
        seed += 1
        let w = try GGMLMatrix<Format>(quantizing: Matrix(rows: rows, cols: 32 * blocks,
                                                          values: randomWeights(rows * 32 * blocks, seed: seed)),
                                       tensorName: "w")
        let x = randomWeights(n * w.cols, seed: seed + 1000, scale: 1)
        var y = [Float](repeating: .nan, count: n * rows)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { w.applyExact(batch: n, xp.baseAddress!, into: $0.baseAddress!, kernel: kernel) }
        }
        let expected = referenceFP32Products(w, x, tokens: n)
        let mismatches = zip(y, expected).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(mismatches == 0, "\(Format.ggmlName) \(kernel) [\(rows) × \(32 * blocks)] × \(n) tokens: \(mismatches) of \(y.count) differ")
    }
}

/// Every path this CPU runs (plain C; AVX2, also taken for AVX-VNNI) gives the reference's bits.
@Test(arguments: IntegerKernel.allCases.filter(\.isAvailable))
func fp32ActivationProductsFollowTheReferenceArithmeticBitForBit(kernel: IntegerKernel) throws {
    try checkProducts(Q8_0.self, kernel: kernel)
    try checkProducts(Q4_0.self, kernel: kernel)
}

/// `apply` and `apply(batch:)` with fp32 activations (the default) take these kernels up to
/// `perTokenBatchLimit` tokens: each token's outputs are the reference's bits, as one token alone.
@Test func fp32ActivationBatchesGiveEachTokensBits() throws {
    func check<Format: GGMLBlockFormat>(_: Format.Type) throws {
        let weight = try GGMLMatrix<Format>(quantizing: Matrix(rows: 37, cols: 96, values: randomWeights(37 * 96, seed: 41)),
                                            tensorName: "w")
        for n in [1, 2, 8, perTokenBatchLimit] {
            let x = randomWeights(n * 96, seed: 42, scale: 1)
            var y = [Float](repeating: .nan, count: n * 37)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { out in
                    if n == 1 { weight.apply(xp.baseAddress!, into: out.baseAddress!) }
                    else { weight.apply(batch: n, xp.baseAddress!, into: out.baseAddress!) }
                }
            }
            #expect(y.map(\.bitPattern) == referenceFP32Products(weight, x, tokens: n).map(\.bitPattern), "\(Format.ggmlName) × \(n)")
        }
    }
    try check(Q8_0.self)
    try check(Q4_0.self)
}
