import Foundation
import Testing
@testable import Quantization

/// Q4_1, Q5_0, Q4_K and Q6_K decoding against gguf-py's `dequantize`, bit for bit
/// (fixtures from tools/make_gguf_quant_fixtures.py).
struct GGMLDecoderTests {
    struct Case: Decodable { let count: Int; let bytes: String; let dequantized: String }
    struct Cases: Decodable { let Q4_1: Case; let Q5_0: Case; let Q4_K: Case; let Q6_K: Case }

    static let cases: Cases = {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/ggml_decoder_fixtures.json")
        return try! JSONDecoder().decode(Cases.self, from: Data(contentsOf: url))
    }()

    static func bytes(hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    static func floats(base64: String) -> [Float] {
        let data = Data(base64Encoded: base64)!
        return data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    /// Decodes `testCase` with `dequantize` and compares bit patterns with gguf-py's values.
    static func check(_ testCase: Case, typeSize: Int, blockSize: Int,
                      _ dequantize: (UnsafeRawBufferPointer, Int) -> [Float]) {
        let bytes = Self.bytes(hex: testCase.bytes)
        let expected = floats(base64: testCase.dequantized)
        #expect(bytes.count == testCase.count / blockSize * typeSize)
        #expect(expected.count == testCase.count)
        let decoded = bytes.withUnsafeBytes { dequantize($0, testCase.count) }
        let mismatches = zip(decoded, expected).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
        #expect(decoded.count == expected.count)
        #expect(mismatches.isEmpty, "\(mismatches.count) values differ, first at \(mismatches.first.map { "\($0.offset): \($0.element)" } ?? "")")
    }

    @Test func q4_1EqualsGGUFPy() {
        #expect(Q4_1.typeSize == 20 && Q4_1.blockSize == 32)
        Self.check(Self.cases.Q4_1, typeSize: Q4_1.typeSize, blockSize: Q4_1.blockSize, Q4_1.dequantize)
    }

    @Test func q5_0EqualsGGUFPy() {
        #expect(Q5_0.typeSize == 22 && Q5_0.blockSize == 32)
        Self.check(Self.cases.Q5_0, typeSize: Q5_0.typeSize, blockSize: Q5_0.blockSize, Q5_0.dequantize)
    }

    @Test func q4_KEqualsGGUFPy() {
        #expect(Q4_K.typeSize == 144 && Q4_K.blockSize == 256)
        Self.check(Self.cases.Q4_K, typeSize: Q4_K.typeSize, blockSize: Q4_K.blockSize, Q4_K.dequantize)
    }

    @Test func q6_KEqualsGGUFPy() {
        #expect(Q6_K.typeSize == 210 && Q6_K.blockSize == 256)
        Self.check(Self.cases.Q6_K, typeSize: Q6_K.typeSize, blockSize: Q6_K.blockSize, Q6_K.dequantize)
    }

    /// Hand-made blocks whose values are known without an oracle.
    @Test func handMadeBlocks() {
        // Q4_1: d = 0.5 (0x3800), m = −1 (0xBC00), byte j = j | (15 − j) << 4.
        var q4_1: [UInt8] = [0x00, 0x38, 0x00, 0xBC]
        q4_1 += (0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 }
        let low: [Float] = (0..<16).map { Float($0) / 2 - 1 }
        let high: [Float] = (0..<16).map { Float(15 - $0) / 2 - 1 }
        let expected4_1 = low + high
        #expect(q4_1.withUnsafeBytes { Q4_1.dequantize($0, count: 32) } == expected4_1)
        // Q5_0: d = 1, qh = 0xFFFF0000 (fifth bit set for weights 16…31), nibbles 0.
        let q5_0: [UInt8] = [0x00, 0x3C, 0x00, 0x00, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 16)
        #expect(q5_0.withUnsafeBytes { Q5_0.dequantize($0, count: 32) }
                == [Float](repeating: -16, count: 16) + [Float](repeating: 0, count: 16))
        #expect([UInt8]().withUnsafeBytes { Q6_K.dequantize($0, count: 0) } == [])
    }
}
