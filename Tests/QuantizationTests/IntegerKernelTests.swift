import Foundation
import Testing
import Tensors
@testable import Quantization

// `--activations q8`: activations rounded to Q8_0 and integer block products (Sources/CKernels), each
// available kernel (scalar, AVX2, AVX-VNNI, NEON sdot) against plain Swift references written here from
// the formulas.

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
/// every nibble) whose fp16 scales are all `scale`.
private func randomBlocks<Format: GGMLBlockFormat>(_: Format.Type, rows: Int, blocks: Int, scale: Float,
                                                  random: inout SplitMix) -> GGMLMatrix<Format> {
    var bytes: [UInt8] = []
    for _ in 0..<(rows * blocks) {
        let half = Float16(scale).bitPattern
        bytes += [UInt8(half & 0xFF), UInt8(half >> 8)]
        bytes += (0..<(Format.typeSize - 2)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }
    return GGMLMatrix<Format>(rows: rows, cols: 32 * blocks, blocks: bytes)
}

/// Activations `[n, cols]` that round without error: per block, integers in −127…127 (one of them ±127)
/// times a power of two, so d = that power of two and the codes are the integers.
private func exactlyRoundingActivations(tokens n: Int, cols: Int, random: inout SplitMix) -> [Float] {
    var x: [Float] = []
    for t in 0..<n {
        let scale = Float(sign: .plus, exponent: -(t % 3) - 1, significand: 1)   // 2⁻¹, 2⁻², 2⁻³
        for b in 0..<(cols / 32) {
            var codes = (0..<32).map { _ in random.int(-127...127) }
            codes[b % 32] = random.int(0...1) == 0 ? 127 : -127
            x += codes.map { Float($0) * scale }
        }
    }
    return x
}

/// `Σ_b d_w · d_x · Σ_j (w − offset) · x` per row and token in fp64, from the stored codes.
private func referenceProducts<Format: GGMLBlockFormat>(_ w: GGMLMatrix<Format>, _ x: [Float], tokens n: Int) -> [Double] {
    let blocks = w.cols / 32
    var y = [Double](repeating: 0, count: n * w.rows)
    for t in 0..<n {
        let rounded = (0..<blocks).map { referenceRounding(x[(t * w.cols + 32 * $0)..<(t * w.cols + 32 * $0 + 32)]) }
        for r in 0..<w.rows {
            var total = 0.0
            for b in 0..<blocks {
                let block = (r * blocks + b) * Format.typeSize
                let dw = Double(Float16(bitPattern: UInt16(w.blocks[block]) | UInt16(w.blocks[block + 1]) << 8))
                var sum = 0
                for j in 0..<32 {
                    let code: Int
                    if Format.self == Q4_0.self {
                        let byte = Int(w.blocks[block + 2 + j % 16])
                        code = (j < 16 ? byte & 15 : byte >> 4) - 8
                    } else {
                        code = Int(Int8(bitPattern: w.blocks[block + 2 + j]))
                    }
                    sum += code * Int(rounded[b].codes[j])
                }
                total += dw * Double(rounded[b].scale) * Double(sum)
            }
            y[t * w.rows + r] = total
        }
    }
    return y
}

/// (rows, blocks, tokens): one block, a row count no thread count divides, 1- and 33-token batches; the
/// last two shapes are large enough (≥ 2¹⁸ weights × tokens) to be split across the kernel threads.
private let shapes = [(1, 1, 1), (3, 1, 33), (7, 3, 1), (13, 5, 33), (5, 32, 4), (1029, 8, 1), (301, 8, 33)]

private func checkExactProducts<Format: GGMLBlockFormat>(_: Format.Type, kernel: IntegerKernel) {
    var random = SplitMix(state: 11)
    for (rows, blocks, n) in shapes {
        // one power-of-two scale per weight and per token, and |Σ w·x| per row < 2²⁴ scale units: every
        // fp32 sum in any order is exact, so every kernel must give the reference bit for bit
        let w = randomBlocks(Format.self, rows: rows, blocks: blocks, scale: 0x1p-6, random: &random)
        let x = exactlyRoundingActivations(tokens: n, cols: w.cols, random: &random)
        var y = [Float](repeating: .nan, count: n * rows)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { w.applyRounded(batch: n, xp.baseAddress!, into: $0.baseAddress!, kernel: kernel) }
        }
        let expected = referenceProducts(w, x, tokens: n)
        let mismatches = zip(y, expected).filter { Double($0) != $1 }.count
        #expect(mismatches == 0, "\(Format.ggmlName) \(kernel) [\(rows) × \(32 * blocks)] × \(n) tokens: \(mismatches) of \(y.count) differ")
    }
}

@Test(arguments: IntegerKernel.allCases.filter(\.isAvailable))
func integerProductsAreExactOnOddShapes(kernel: IntegerKernel) {
    checkExactProducts(Q8_0.self, kernel: kernel)
    checkExactProducts(Q4_0.self, kernel: kernel)
}

private func checkRandomProducts<Format: GGMLBlockFormat>(_: Format.Type, kernel: IntegerKernel) {
    var random = SplitMix(state: 5)
    for (rows, blocks, n) in shapes {
        // realistic values: random fp16 scales per block, Gaussian activations
        let weight = try! GGMLMatrix<Format>(quantizing: Matrix(rows: rows, cols: 32 * blocks,
                                                                values: randomWeights(rows * 32 * blocks, seed: random.next())),
                                             tensorName: "w")
        let x = randomWeights(n * weight.cols, seed: random.next(), scale: 1)
        var y = [Float](repeating: .nan, count: n * rows)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { weight.applyRounded(batch: n, xp.baseAddress!, into: $0.baseAddress!, kernel: kernel) }
        }
        let expected = referenceProducts(weight, x, tokens: n)
        let scale = expected.map(abs).max()!
        let worst = zip(y, expected).map { abs(Double($0) - $1) }.max()!
        #expect(worst <= 1e-5 * scale, "\(Format.ggmlName) \(kernel) [\(rows) × \(32 * blocks)] × \(n): \(worst) (largest |y| \(scale))")
    }
}

@Test(arguments: IntegerKernel.allCases.filter(\.isAvailable))
func integerProductsMatchTheReferenceOnRealisticValues(kernel: IntegerKernel) {
    checkRandomProducts(Q8_0.self, kernel: kernel)
    checkRandomProducts(Q4_0.self, kernel: kernel)
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

/// Batches above `roundedIntegerBatchLimit` take tiles of decoded weights and OpenBLAS on the rounded
/// activations: the same products as the integer kernels, up to the order of fp32 additions.
@Test func largeRoundedBatchesGoByTilesWithTheSameProducts() throws {
    func check<Format: GGMLBlockFormat>(_: Format.Type) throws {
        let n = roundedIntegerBatchLimit + 3
        let weight = try GGMLMatrix<Format>(quantizing: Matrix(rows: 37, cols: 96, values: randomWeights(37 * 96, seed: 21)),
                                            tensorName: "w")
        let x = randomWeights(n * 96, seed: 22, scale: 1)
        var y = [Float](repeating: .nan, count: n * 37)
        ActivationPrecision.$current.withValue(.q8) {
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { weight.apply(batch: n, xp.baseAddress!, into: $0.baseAddress!) }
            }
        }
        let expected = referenceProducts(weight, x, tokens: n)
        let scale = expected.map(abs).max()!
        let worst = zip(y, expected).map { abs(Double($0) - $1) }.max()!
        #expect(worst <= 1e-5 * scale, "\(Format.ggmlName) × \(n) tokens: \(worst) (largest |y| \(scale))")
    }
    try check(Q8_0.self)
    try check(Q4_0.self)
}
