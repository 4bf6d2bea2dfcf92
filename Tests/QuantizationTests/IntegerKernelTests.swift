import Foundation
import Testing
import Tensors
@testable import Quantization

// `--activations q8`: activations rounded to Q8_0 and integer block products (Sources/CKernels), each
// available kernel (scalar, AVX2, AVX-VNNI, NEON sdot) against plain Swift references written here from
// the formulas, bit for bit.

/// A deterministic stream of integers (SplitMix64).
private struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}

/// llama.cpp's rounding of one block of 32 activations (`quantize_row_q8_0`, x86-64): d = amax/127 in
/// fp16, codes = round-half-to-even(x · 127/amax).
private func referenceRounding(_ x: ArraySlice<Float>) -> (codes: [Int8], scale: Float) {
    let amax = x.map(abs).max()!
    let inverse: Float = amax != 0 ? 127 / amax : 0
    return (x.map { Int8(($0 * inverse).rounded(.toNearestOrEven)) }, Float(Float16(amax / 127)))
}

@Test func activationsAreRoundedAsLlamaCppRoundsThem() {
    var random = SplitMix(state: 7)
    var x = randomWeights(32 * 40, seed: 3, scale: 2)
    for j in 0..<32 { x[j] = 0 }                                       // an all-zero block
    for j in 32..<64 { x[j] = Float(j - 48) * 0.5 }                    // ties at ±k.5 after scaling by 127/8
    for j in 64..<96 { x[j] = Float(random.int(-127...127)) }          // codes equal to the values
    x[96] = 1e-30                                                      // a subnormal fp16 scale
    for j in 97..<128 { x[j] = 0 }
    let blocks = x.count / 32
    var codes = [Int8](repeating: 0, count: x.count), scales = [Float](repeating: 0, count: blocks)
    var sums = [Int32](repeating: 0, count: blocks)
    x.withUnsafeBufferPointer { xp in
        RoundedActivations.with(xp.baseAddress!, tokens: 1, cols: x.count) { r in
            codes = Array(UnsafeBufferPointer(start: r.codes, count: x.count))
            scales = Array(UnsafeBufferPointer(start: r.scales, count: blocks))
            sums = Array(UnsafeBufferPointer(start: r.sums, count: blocks))
        }
    }
    for b in 0..<blocks {
        let expected = referenceRounding(x[(32 * b)..<(32 * b + 32)])
        #expect(Array(codes[(32 * b)..<(32 * b + 32)]) == expected.codes, "block \(b)")
        #expect(scales[b].bitPattern == expected.scale.bitPattern, "block \(b): \(scales[b]) vs \(expected.scale)")
        #expect(sums[b] == Int32(expected.codes.reduce(0) { $0 + Int($1) }), "block \(b)")
    }
}

/// A packed weight of random codes (Q8_0: every int8 including −128, which GGUF files may hold; Q4_0:
/// every nibble) with random fp16 scales between 2⁻¹² and 2⁻⁴ (normal, varied per block).
private func randomBlocks<Format: GGMLBlockFormat>(_: Format.Type, rows: Int, blocks: Int,
                                                  random: inout SplitMix) -> GGMLMatrix<Format> {
    var bytes: [UInt8] = []
    for _ in 0..<(rows * blocks) {
        let half = UInt16(0x0C00 + random.int(0...0x2000))   // exponents −12…−4, any mantissa
        bytes += [UInt8(half & 0xFF), UInt8(half >> 8)]
        bytes += (0..<(Format.typeSize - 2)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }
    return GGMLMatrix<Format>(rows: rows, cols: 32 * blocks, blocks: bytes)
}

/// The arithmetic every kernel follows (CKernels.h `ck_q8_0_products`), written here from the formula:
/// per row, token and block the exact integer S = Σ (w − offset)·x over the stored codes and the
/// rounded activations, then `y = fma(Float(S), d_w · d_x, y)` over the blocks in order, from 0.
private func referenceProducts<Format: GGMLBlockFormat>(_ w: GGMLMatrix<Format>, _ x: [Float], tokens n: Int) -> [Float] {
    let blocks = w.cols / 32
    let bytes = w.blocks   // the GGUF layout: the reference does not read the kernels' interleaved layout
    var y = [Float](repeating: 0, count: n * w.rows)
    for t in 0..<n {
        let rounded = (0..<blocks).map { referenceRounding(x[(t * w.cols + 32 * $0)..<(t * w.cols + 32 * $0 + 32)]) }
        for r in 0..<w.rows {
            var total: Float = 0
            for b in 0..<blocks {
                let block = (r * blocks + b) * Format.typeSize
                let dw = Float(Float16(bitPattern: UInt16(bytes[block]) | UInt16(bytes[block + 1]) << 8))
                var sum = 0
                for j in 0..<32 {
                    let code: Int
                    if Format.self == Q4_0.self {
                        let byte = Int(bytes[block + 2 + j % 16])
                        code = (j < 16 ? byte & 15 : byte >> 4) - 8
                    } else {
                        code = Int(Int8(bitPattern: bytes[block + 2 + j]))
                    }
                    sum += code * Int(rounded[b].codes[j])
                }
                total.addProduct(Float(sum), dw * rounded[b].scale)   // fused: one rounding
            }
            y[t * w.rows + r] = total
        }
    }
    return y
}

/// (rows, blocks, tokens): one block; row counts that neither the thread count nor the kernels' groups
/// of 8 rows divide (a last group stored as in GGUF); 1- and 33-token batches; 1–4 tokens (the x86
/// kernel's decode path, unpacking in registers) and more (its packed path); more blocks than it packs at
/// a time (32) and more tokens than one tile (64). Shapes with ≥ 2¹⁸ weights × tokens are split across
/// the kernel threads.
private let shapes = [(1, 1, 1), (3, 1, 33), (7, 3, 1), (13, 5, 33), (5, 32, 4), (9, 33, 2), (17, 2, 3), (16, 3, 5),
                      (1029, 8, 1), (301, 8, 33), (11, 40, 70), (203, 24, 67)]

/// Gaussian activations `[n, cols]` with a different spread per token, and one all-zero block.
private func randomActivations(tokens n: Int, cols: Int, random: inout SplitMix) -> [Float] {
    var x: [Float] = []
    for t in 0..<n { x += randomWeights(cols, seed: random.next(), scale: Float(1 + t % 5)) }
    for j in 0..<min(32, x.count) { x[j] = 0 }
    return x
}

private func checkProducts<Format: GGMLBlockFormat>(_: Format.Type, kernel: IntegerKernel) {
    var random = SplitMix(state: 11)
    for (rows, blocks, n) in shapes {
        for quantized in [false, true] {
            // random codes and scales, or a quantized Gaussian weight (realistic scales and codes)
            let w = quantized
                ? try! GGMLMatrix<Format>(quantizing: Matrix(rows: rows, cols: 32 * blocks,
                                                             values: randomWeights(rows * 32 * blocks, seed: random.next())),
                                          tensorName: "w")
                : randomBlocks(Format.self, rows: rows, blocks: blocks, random: &random)
            let x = randomActivations(tokens: n, cols: w.cols, random: &random)
            var y = [Float](repeating: .nan, count: n * rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { w.applyRounded(batch: n, xp.baseAddress!, into: $0.baseAddress!, kernel: kernel) }
            }
            let expected = referenceProducts(w, x, tokens: n)
            let mismatches = zip(y, expected).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(mismatches == 0, "\(Format.ggmlName) \(kernel) [\(rows) × \(32 * blocks)] × \(n) tokens\(quantized ? " (quantized)" : ""): \(mismatches) of \(y.count) differ")
        }
    }
}

/// Every kernel (scalar, AVX2, AVX-VNNI, NEON sdot — those this CPU runs) gives the reference's bits.
@Test(arguments: IntegerKernel.allCases.filter(\.isAvailable))
func integerProductsFollowTheReferenceArithmeticBitForBit(kernel: IntegerKernel) {
    checkProducts(Q8_0.self, kernel: kernel)
    checkProducts(Q4_0.self, kernel: kernel)
}

/// The rounded path differs from fp32 activations by the activations' rounding alone: at most
/// Σ_b d_x/2 · Σ_j |w| per output.
@Test func roundedActivationsStayWithinTheirRoundingErrorOfFp32() throws {
    let weight = try Q4_0Matrix(quantizing: Matrix(rows: 64, cols: 256, values: randomWeights(64 * 256, seed: 9)), tensorName: "w")
    let x = randomWeights(256, seed: 10, scale: 1)
    let exact = weight.apply(x)
    let rounded = ActivationPrecision.$current.withValue(.q8) { weight.apply(x) }
    let w = weight.dequantized()
    for r in 0..<64 {
        var bound: Float = 0
        for b in 0..<8 {
            let amax = x[(32 * b)..<(32 * b + 32)].map(abs).max()!
            bound += amax / 127 / 2 * (0..<32).reduce(0) { $0 + abs(w.values[r * 256 + 32 * b + $1]) }
        }
        #expect(abs(rounded[r] - exact[r]) <= bound * 1.01 + 1e-6, "row \(r)")
        #expect(rounded[r] != exact[r] || bound == 0)
    }
}

@Test func theBestKernelRunsHere() {
    #expect(IntegerKernel.best.isAvailable)
    #expect(IntegerKernel.scalar.isAvailable)
    #if arch(x86_64)
    // the Quantization target is built for Haswell (Package.swift), so AVX2 is always there
    #expect(IntegerKernel.best == .avx2 || IntegerKernel.best == .avxVNNI)
    #endif
}

/// `apply(batch:)` under `--activations q8` takes the integer kernels at every batch size, the 1-token
/// `apply` too: the reference's bits.
@Test func roundedBatchesOfEverySizeTakeTheIntegerKernels() throws {
    func check<Format: GGMLBlockFormat>(_: Format.Type) throws {
        let weight = try GGMLMatrix<Format>(quantizing: Matrix(rows: 37, cols: 96, values: randomWeights(37 * 96, seed: 21)),
                                            tensorName: "w")
        for n in [1, 8, 65, 130] {
            let x = randomWeights(n * 96, seed: 22, scale: 1)
            var y = [Float](repeating: .nan, count: n * 37)
            ActivationPrecision.$current.withValue(.q8) {
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { out in
                        if n == 1 { weight.apply(xp.baseAddress!, into: out.baseAddress!) }
                        else { weight.apply(batch: n, xp.baseAddress!, into: out.baseAddress!) }
                    }
                }
            }
            #expect(y.map(\.bitPattern) == referenceProducts(weight, x, tokens: n).map(\.bitPattern), "\(Format.ggmlName) × \(n)")
        }
    }
    try check(Q8_0.self)
    try check(Q4_0.self)
}
