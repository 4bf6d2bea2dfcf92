import Testing
import Tensors
@testable import Quantization

private let quantizedPrecisions: [Precision] = [.bf16, .f16, .int8, .q4, .nf4, .nf4dq, .hqq4, .hqq3, .hqq2, .hqq4HalfMetadata, .hqq3HalfMetadata, .hqq2HalfMetadata]

@Test func allZeroBlocksHaveFiniteScalesAndDecodeToExactZero() throws {
    let zeros = Matrix(zeros: 2, 64)
    for precision in quantizedPrecisions {
        let w = try quantize(zeros, to: precision, tensorName: "zeros")
        #expect(w.dequantized().values.allSatisfy { $0 == 0 }, "\(precision)")
        #expect(w.apply([Float](repeating: 1, count: 64)) == [0, 0], "\(precision)")
    }
    let q8 = try Q8_0Matrix(quantizing: zeros, tensorName: "zeros")
    #expect(floatFromHalfBits(UInt16(q8.blocks[0]) | UInt16(q8.blocks[1]) << 8) == 0)
    if case .plain(let absmax) = try NF4Matrix(quantizing: zeros, tensorName: "zeros").absmax {
        #expect(absmax == [0, 0])
    }
}

@Test func subnormalOnlyBlocksGiveNoNaNOrInf() throws {
    // 1e-40 … 1e-39 are fp32 subnormals: 1/d overflows for Q8_0/Q4_0, and NF4 clamps absmax at 1e-38.
    let values = (0..<128).map { i in Float(i % 7 - 3) * 3e-40 }
    let w = Matrix(rows: 2, cols: 64, values: values)
    for precision in quantizedPrecisions {
        let q = try quantize(w, to: precision, tensorName: "tiny")
        #expect(q.dequantized().values.allSatisfy { $0.isFinite }, "\(precision)")
        #expect(q.apply([Float](repeating: 1e30, count: 64)).allSatisfy { $0.isFinite }, "\(precision)")
    }
}

@Test func overflowingScalesAreRefusedNamingTheTensor() {
    func expectOverflow(_ precision: Precision, _ value: Float) {
        var values = [Float](repeating: 0.5, count: 64)
        values[37] = value
        do {
            _ = try quantize(Matrix(rows: 2, cols: 32, values: values), to: precision, tensorName: "layers.0.w2")
            Issue.record("\(precision): \(value) was accepted")
        } catch let error as QuantizeError {
            guard case .overflow(let tensor, _, let row, let column, let v, _) = error else {
                Issue.record("\(precision): wrong error \(error)"); return
            }
            #expect(tensor == "layers.0.w2" && row == 1 && column == 5 && v == value)
            #expect(error.description.contains("layers.0.w2"))
        } catch { Issue.record("\(error)") }
    }
    expectOverflow(.int8, 9e6)    // d = 9e6/127 > 65504
    expectOverflow(.q4, -6e5)     // d = 6e5/8 > 65504
    expectOverflow(.f16, 70000)
    expectOverflow(.bf16, .greatestFiniteMagnitude)
    // just below the limits it is fine and finite
    #expect(throws: Never.self) { _ = try quantize(Matrix(rows: 1, cols: 32, values: [8e6] + [Float](repeating: 1, count: 31)), to: .int8, tensorName: "w") }
    #expect(throws: Never.self) { _ = try quantize(Matrix(rows: 1, cols: 32, values: [5e5] + [Float](repeating: 1, count: 31)), to: .q4, tensorName: "w") }
}

@Test func nanOrInfWeightsAreErrorsNamingTheTensor() {
    for bad in [Float.nan, .infinity, -.infinity] {
        var values = [Float](repeating: 0.1, count: 3 * 64)
        values[64 + 17] = bad
        for precision in quantizedPrecisions {
            #expect(throws: QuantizeError.self) {
                _ = try quantize(Matrix(rows: 3, cols: 64, values: values), to: precision, tensorName: "model.embed_tokens.weight")
            }
            do {
                _ = try quantize(Matrix(rows: 3, cols: 64, values: values), to: precision, tensorName: "model.embed_tokens.weight")
            } catch let error as QuantizeError {
                guard case .nonFiniteWeight(let tensor, let row, let column, _) = error else { Issue.record("\(error)"); continue }
                #expect(tensor == "model.embed_tokens.weight" && row == 1 && column == 17)
            } catch { Issue.record("\(error)") }
        }
    }
}

@Test func ggmlRowLengthMustBeAMultipleOf32() {
    let w = Matrix(rows: 2, cols: 48, values: [Float](repeating: 1, count: 96))
    for precision in [Precision.int8, .q4] {
        #expect(throws: QuantizeError.rowLengthNotMultipleOfBlock(tensor: "w", format: precision == .int8 ? "Q8_0" : "Q4_0",
                                                                  cols: 48, blockSize: 32)) {
            _ = try quantize(w, to: precision, tensorName: "w")
        }
    }
    // NF4 and the 16-bit formats take any row length
    for precision in [Precision.nf4, .nf4dq, .bf16, .f16] {
        #expect(throws: Never.self) { _ = try quantize(w, to: precision, tensorName: "w") }
    }
}

@Test func nf4TailBlockHasItsOwnAbsmax() throws {
    // 5 × 13 = 65 values, blocksize 64: one full block and a tail block holding the last value alone.
    var values = (0..<65).map { Float($0 % 9) * 0.01 }
    values[64] = -3
    let w = try NF4Matrix(quantizing: Matrix(rows: 5, cols: 13, values: values), tensorName: "w")
    #expect(w.packed.count == 33)
    #expect(w.packed[32] == 0x07)          // −1 → code 0 in the high nibble, padding code 7 in the low one
    guard case .plain(let absmax) = w.absmax else { Issue.record("expected plain absmax"); return }
    #expect(absmax == [0.08, 3])
    #expect(w.dequantized().values[64] == -3)
}

@Test func nf4RejectsBlocksizesBitsandbytesRejects() {
    for blocksize in [16, 48, 8192] {
        #expect(throws: QuantizeError.invalidBlocksize(tensor: "w", blocksize: blocksize)) {
            _ = try NF4Matrix(quantizing: Matrix(zeros: 2, 64), tensorName: "w", blocksize: blocksize)
        }
    }
}

@Test func halfDecodingMatchesFloat16ForEveryBitPattern() {
    for start in stride(from: 0, to: 65536, by: 16) {
        let patterns = SIMD16<UInt16>((0..<16).map { UInt16(start + $0) })
        let wide = floatsFromHalfBits(patterns)
        for lane in 0..<16 {
            let expected = Float(Float16(bitPattern: patterns[lane]))
            let scalar = floatFromHalfBits(patterns[lane])
            if expected.isNaN {
                #expect(scalar.isNaN && wide[lane].isNaN)
            } else {
                #expect(scalar.bitPattern == expected.bitPattern && wide[lane].bitPattern == expected.bitPattern,
                        "pattern \(patterns[lane])")
            }
        }
    }
}

@Test func halfEncodingMatchesFloat16RoundingEverywhere() {
    // every fp32 exponent, mantissas stepping through the 13 bits fp16 drops (ties included), both signs
    for exponent in UInt32(0)..<256 {
        for mantissa in stride(from: UInt32(0), to: 1 << 23, by: 0x3FFF) {
            for low: UInt32 in [0, 0x0FFF, 0x1000, 0x1001, 0x1FFF] {
                for sign: UInt32 in [0, 0x8000_0000] {
                    let x = Float(bitPattern: sign | exponent << 23 | ((mantissa &+ low) & 0x7F_FFFF))
                    if x.isNaN { #expect(halfBits(x) & 0x7FFF == 0x7E00); continue }
                    #expect(halfBits(x) == Float16(x).bitPattern, "\(x) (\(x.bitPattern))")
                }
            }
        }
    }
}

@Test func roundingToSixteenBitsIsNearestEven() {
    #expect(bfloat16Bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)   // tie, even stays
    #expect(bfloat16Bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)   // tie, odd rounds up
    #expect(bfloat16Bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
    #expect(halfBits(1 + 0x1p-11) == 0x3C00)                          // tie between 1 and 1 + 2⁻¹⁰
    #expect(halfBits(1 + 3 * 0x1p-11) == 0x3C02)
    #expect(halfBits(65520) == 0x7C00)                                  // rounds past 65504
}
