import Testing
import Tensors
@testable import Quantization

// Bit-exactness against gguf-py (Q8_0, Q4_0) and bitsandbytes (NF4, NF4 double quantization).

@Test func q8_0MatchesGGUFPyByteForByte() throws {
    try checkGGML(Q8_0.self, QuantFixtures.shared.q8_0)
}

@Test func q4_0MatchesGGUFPyByteForByte() throws {
    try checkGGML(Q4_0.self, QuantFixtures.shared.q4_0)
}

private func checkGGML<Format: GGMLBlockFormat>(_ format: Format.Type, _ cases: [GGMLCase]) throws {
    #expect(cases.count >= 7)
    for c in cases {
        let input = floats(c.input)
        let expected = bytes(c.bytes)
        #expect(Format.quantize(input) == expected, "\(Format.ggmlName) \(c.name): bytes")
        #expect(bitwiseEqual(Format.dequantize(expected), floats(c.dequantized)), "\(Format.ggmlName) \(c.name): decode")
        let weight = Matrix(rows: c.rows, cols: c.cols, values: input)
        if hasInfiniteScale(expected, typeSize: Format.typeSize) {
            // gguf-py writes an Inf scale here (a Q8_0-sized value in Q4_0); the matrix refuses the tensor.
            #expect(throws: QuantizeError.self, "\(Format.ggmlName) \(c.name)") {
                try GGMLMatrix<Format>(quantizing: weight, tensorName: c.name)
            }
            continue
        }
        let matrix = try GGMLMatrix<Format>(quantizing: weight, tensorName: c.name)
        #expect(matrix.blocks == expected, "\(Format.ggmlName) \(c.name): matrix blocks")
        #expect(bitwiseEqual(matrix.dequantized().values, floats(c.dequantized)), "\(Format.ggmlName) \(c.name): matrix decode")
    }
}

private func hasInfiniteScale(_ blocks: [UInt8], typeSize: Int) -> Bool {
    stride(from: 0, to: blocks.count, by: typeSize).contains { (UInt16(blocks[$0]) | UInt16(blocks[$0 + 1]) << 8) & 0x7FFF == 0x7C00 }
}

@Test func nf4MatchesBitsandbytesPackedBytesAndAbsmax() throws {
    let cases = QuantFixtures.shared.nf4
    #expect(cases.count >= 13)
    for c in cases {
        let input = floats(c.input)
        let (packed, absmax) = NF4.quantize(input, blocksize: c.blocksize)
        #expect(packed == bytes(c.packed), "nf4 \(c.name): packed")
        #expect(bitwiseEqual(absmax, floats(c.absmax!)), "nf4 \(c.name): absmax")
        let decoded = NF4.dequantize(packed: bytes(c.packed), absmax: floats(c.absmax!), count: input.count, blocksize: c.blocksize)
        #expect(bitwiseEqual(decoded, floats(c.dequantized)), "nf4 \(c.name): decode")
        let matrix = try NF4Matrix(quantizing: Matrix(rows: c.rows, cols: c.cols, values: input), tensorName: c.name,
                                   blocksize: c.blocksize)
        #expect(bitwiseEqual(matrix.dequantized().values, floats(c.dequantized)), "nf4 \(c.name): matrix decode")
    }
}

@Test func nf4CodebookAndDynamicMapMatchBitsandbytes() {
    #expect(bitwiseEqual(NF4.codebook, floats(QuantFixtures.shared.nf4_codebook)))
    #expect(bitwiseEqual(DynamicMap.signed, floats(QuantFixtures.shared.dynamic_map)))
}

@Test func nf4DoubleQuantizedDecodesExactlyLikeBitsandbytes() {
    for c in QuantFixtures.shared.nf4_dq {
        let input = floats(c.input)
        let dq = DoubleQuantizedAbsmax(codes: bytes(c.absmax_codes!), absmax2: floats(c.absmax2!), offset: floats(c.offset!)[0])
        #expect(bitwiseEqual(dq.dequantized(), floats(c.absmax_dequantized!)), "nf4-dq \(c.name): absmax decode")
        #expect(NF4.quantize(input, blocksize: c.blocksize).packed == bytes(c.packed), "nf4-dq \(c.name): packed")
        let matrix = NF4Matrix(rows: c.rows, cols: c.cols, blocksize: c.blocksize, packed: bytes(c.packed),
                               absmax: .doubleQuantized(dq))
        #expect(bitwiseEqual(matrix.dequantized().values, floats(c.dequantized)), "nf4-dq \(c.name): weight decode")
    }
    for c in QuantFixtures.shared.absmax_dq {
        let dq = DoubleQuantizedAbsmax(codes: bytes(c.absmax_codes), absmax2: floats(c.absmax2), offset: floats(c.offset)[0])
        #expect(bitwiseEqual(dq.dequantized(), floats(c.absmax_dequantized)), "absmax-dq \(c.name): decode")
    }
}

/// Our double quantization against bitsandbytes' C kernel. The offset (a mean) may differ in the last
/// bit from torch's fp32 reduction; the C kernel's approximate binary search (csrc/common.cpp,
/// BinSearch.h) picks the neighbouring code for about one value in several hundred, so codes may
/// differ by one step for at most 1 in 300 values; everything else must agree.
@Test func nf4DoubleQuantizationAgreesWithBitsandbytes() {
    var compared = 0, differing = 0
    let cases: [(String, [Float], [UInt8], [Float], Float)] =
        QuantFixtures.shared.absmax_dq.map { ($0.name, floats($0.absmax), bytes($0.absmax_codes), floats($0.absmax2), floats($0.offset)[0]) }
        + QuantFixtures.shared.nf4_dq.map { ($0.name, NF4.quantize(floats($0.input), blocksize: $0.blocksize).absmax,
                                             bytes($0.absmax_codes!), floats($0.absmax2!), floats($0.offset!)[0]) }
    for (name, absmax, codes, absmax2, offset) in cases {
        let ours = DoubleQuantizedAbsmax(quantizing: absmax)
        #expect(abs(ours.offset - offset) <= offset.ulp, "\(name): offset \(ours.offset) vs \(offset)")
        for (a, b) in zip(ours.absmax2, absmax2) { #expect(abs(a - b) <= 2 * offset.ulp, "\(name): absmax2") }
        for (a, b) in zip(ours.codes, codes) {
            compared += 1
            if a != b {
                differing += 1
                #expect(abs(Int(a) - Int(b)) == 1, "\(name): code \(a) vs \(b)")
            }
        }
    }
    #expect(compared > 2000)
    #expect(differing * 300 <= compared, "\(differing) of \(compared) absmax codes differ")
}
