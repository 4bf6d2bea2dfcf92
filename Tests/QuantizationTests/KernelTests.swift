import Foundation
import Testing
import Tensors
@testable import Quantization

/// Deterministic pseudo-normal values (SplitMix64 + Box–Muller), scaled like weights.
func randomWeights(_ count: Int, seed: UInt64, scale: Float = 0.02) -> [Float] {
    var state = seed
    func next() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (Double((z ^ (z >> 31)) >> 11) + 0.5) / Double(1 << 53)
    }
    return (0..<count).map { _ in
        let radius: Double = (-2 * log(next())).squareRoot()
        let angle: Double = 2 * Double.pi * next()
        return Float(radius * cos(angle)) * scale
    }
}

/// `W x` computed in fp64 from the decoded weight.
private func reference(_ w: Matrix, _ x: [Float]) -> [Double] {
    (0..<w.rows).map { r in (0..<w.cols).reduce(0.0) { $0 + Double(w.values[r * w.cols + $1]) * Double(x[$1]) } }
}

/// Σ_c |w[r, c] · x[c]| per row: what fp32 rounding errs relative to. A sum of fp32 products in any order
/// errs by at most (additions + 1) · 2⁻²⁴ of it (recursive summation), which, where the terms cancel, can
/// exceed a tolerance relative to the outputs.
private func magnitudes(_ w: Matrix, _ x: [Float]) -> [Double] {
    (0..<w.rows).map { r in (0..<w.cols).reduce(0.0) { $0 + abs(Double(w.values[r * w.cols + $1]) * Double(x[$1])) } }
}

/// Within 1e-5 of the largest output (at least 1e-8), or, given `magnitudes`, within the rounding bound of
/// a sum of `cols` fp32 products in any order (twice (cols + 1) · 2⁻²⁴ · Σ|w·x|) where that is larger.
private func expectClose(_ y: [Float], _ expected: [Double], _ label: String, magnitudes: [Double]? = nil, cols: Int = 0) {
    let scale = expected.map(abs).max() ?? 1
    for (i, (a, b)) in zip(y, expected).enumerated() {
        let rounding = magnitudes.map { 2 * Double(cols + 1) * 0x1p-24 * $0[i] } ?? 0
        #expect(abs(Double(a) - b) <= max(1e-5 * max(scale, 1e-3), rounding), "\(label)")
    }
}

@Test(arguments: [Precision.bf16, .f16, .int8, .q4, .nf4, .nf4dq, .hqq4, .hqq3, .hqq2, .hqq4HalfMetadata, .hqq3HalfMetadata, .hqq2HalfMetadata])
func matvecAndBatchComputeOnPackedBlocks(precision: Precision) throws {
    let w = Matrix(rows: 40, cols: 256, values: randomWeights(40 * 256, seed: 1))
    let q = try quantize(w, to: precision, tensorName: "w")
    let decoded = q.dequantized()
    // a batch one token at a time (the same numbers as decoding, bit for bit) and one by fp32 tiles
    for n in [3, perTokenBatchLimit + 3] {
        let xs = randomWeights(n * 256, seed: 2, scale: 1)
        var y = [Float](repeating: 0, count: n * 40)
        xs.withUnsafeBufferPointer { x in y.withUnsafeMutableBufferPointer { q.apply(batch: n, x.baseAddress!, into: $0.baseAddress!) } }
        for i in 0..<n {
            let x = Array(xs[(i * 256)..<((i + 1) * 256)])
            let expected = reference(decoded, x)
            let matvec = q.apply(x)
            expectClose(matvec, expected, "\(precision) matvec")
            expectClose(Array(y[(i * 40)..<((i + 1) * 40)]), expected, "\(precision) batch \(n) row \(i)")
            if n <= perTokenBatchLimit { #expect(Array(y[(i * 40)..<((i + 1) * 40)]) == matvec, "\(precision) batch \(n) row \(i)") }
        }
    }
    #expect(q.formatName == precision.rawValue)
}

@Test func oddShapesUseTheGeneralPaths() throws {
    // NF4 blocks crossing rows (cols 100, blocksize 64, odd total) and 16-bit rows with a scalar tail.
    let w = Matrix(rows: 5, cols: 99, values: randomWeights(5 * 99, seed: 3))
    let x = randomWeights(99, seed: 4, scale: 1)
    for q in [try NF4Matrix(quantizing: w, tensorName: "w") as any LinearOperator,
              try NF4Matrix(quantizing: w, tensorName: "w", blocksize: 32, doubleQuantization: true),
              try BF16Matrix(quantizing: w, tensorName: "w"), try F16Matrix(quantizing: w, tensorName: "w")] {
        expectClose(q.apply(x), reference(q.dequantized(), x), q.formatName)
    }
}

@Test func largeMatricesSplitRowsAcrossCoresWithTheSameResult() throws {
    // 640 × 2048 = 1.3M weights: above the parallel threshold.
    let w = Matrix(rows: 640, cols: 2048, values: randomWeights(640 * 2048, seed: 5))
    let x = randomWeights(2048, seed: 6, scale: 1)
    for precision in [Precision.int8, .q4, .nf4, .hqq3, .hqq2] {
        let q = try quantize(w, to: precision, tensorName: "w")
        expectClose(q.apply(x), reference(q.dequantized(), x), "\(precision)")
    }
}

@Test func bitsPerWeightMatchTheFormats() throws {
    let w = Matrix(rows: 256, cols: 256, values: randomWeights(256 * 256, seed: 7))
    let expected: [Precision: Double] = [.fp32: 32, .bf16: 16, .f16: 16, .int8: 8.5, .q4: 4.5, .nf4: 4.5]
    for (precision, bits) in expected {
        #expect(try quantize(w, to: precision, tensorName: "w").bitsPerWeight == bits)
        #expect(precision.nominalBitsPerWeight == bits)
    }
    // 1024 blocks: 8 bits of code each, 4 absmax2 of 32 bits and a 32-bit offset over 65536 weights
    let dq = try quantize(w, to: .nf4dq, tensorName: "w").bitsPerWeight
    let expectedDQ: Double = 4 + 8.0 / 64 + Double(4 * 32 + 32) / 65536
    #expect(dq == expectedDQ)
    #expect(abs(Precision.nf4dq.nominalBitsPerWeight - dq) < 0.002)
    // HQQ: codes, then per group of weights 1 + 1 bytes (8-bit scale and zero) or 2 + 2 (fp16); 8 bytes
    // per group of scales and 8 for the zero-points' range
    for precision in [Precision.hqq4, .hqq3, .hqq2, .hqq4HalfMetadata, .hqq3HalfMetadata, .hqq2HalfMetadata] {
        let settings = precision.hqqSettings!
        let groups = 65536 / settings.groupSize
        var bytes = 65536 * settings.bits / 8
        if let m = settings.scaleGroupSize { bytes += 2 * groups + 8 * ((groups + m - 1) / m) + 8 } else { bytes += 4 * groups }
        let q = try quantize(w, to: precision, tensorName: "w")
        #expect(q.byteCount == bytes, "\(precision)")
        #expect(abs(precision.nominalBitsPerWeight - q.bitsPerWeight) < 0.002, "\(precision)")
    }
    #expect(abs(Precision.hqq2.nominalBitsPerWeight - (2 + 16.0 / 16 + 64.0 / (16 * 128))) < 1e-12)
}

/// GGML blocks of arbitrary code bytes (every int8 code including −128, every nibble) with finite fp16
/// scales of both signs and one zero scale — the blocks a GGUF file may hold, not only what our quantizer
/// writes.
private func arbitraryBlocks<Format: GGMLBlockFormat>(_ format: Format.Type, rows: Int, cols: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    var bytes = (0..<(rows * cols / ggmlBlockSize * Format.typeSize)).map { _ -> UInt8 in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 56)
    }
    let scales = randomWeights(rows * cols / ggmlBlockSize, seed: seed, scale: 0.01)
    for (block, scale) in scales.enumerated() {
        let bits = block == 1 ? 0 : halfBits(scale)
        bytes[block * Format.typeSize] = UInt8(truncatingIfNeeded: bits)
        bytes[block * Format.typeSize + 1] = UInt8(truncatingIfNeeded: bits >> 8)
    }
    return bytes
}

private func checkGGMLKernels<Format: GGMLBlockFormat>(_ format: Format.Type) {
    // 1 row, rows not a multiple of the cores or of anything else, 1 to 33 blocks per row
    for (rows, cols) in [(1, 32), (1, 96), (2, 64), (3, 1056), (7, 224), (13, 32)] {
        let q = GGMLMatrix<Format>(rows: rows, cols: cols, blocks: arbitraryBlocks(format, rows: rows, cols: cols, seed: UInt64(rows * cols)))
        let decoded = q.dequantized()
        for n in Array(1...5) + [perTokenBatchLimit + 1] {
            let xs = randomWeights(n * cols, seed: UInt64(n), scale: 1)
            var y = [Float](repeating: .nan, count: n * rows)
            xs.withUnsafeBufferPointer { x in y.withUnsafeMutableBufferPointer { q.apply(batch: n, x.baseAddress!, into: $0.baseAddress!) } }
            for i in 0..<n {
                let x = Array(xs[(i * cols)..<((i + 1) * cols)])
                let expected = reference(decoded, x)
                if n == 1 { expectClose(q.apply(x), expected, "\(Format.ggmlName) [\(rows), \(cols)] matvec") }
                // a batch above perTokenBatchLimit: fp32 tiles, summed in another order than the reference
                expectClose(Array(y[(i * rows)..<((i + 1) * rows)]), expected, "\(Format.ggmlName) [\(rows), \(cols)] batch \(n) row \(i)",
                            magnitudes: magnitudes(decoded, x), cols: cols)
            }
        }
    }
}

@Test func ggmlKernelsHandleEveryCodeAndShape() {
    checkGGMLKernels(Q8_0.self)
    checkGGMLKernels(Q4_0.self)
}
