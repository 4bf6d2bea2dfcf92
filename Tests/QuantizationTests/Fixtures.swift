import Foundation

// Golden outputs of gguf-py and bitsandbytes, made by tools/make_quant_fixtures.py.

struct GGMLCase: Decodable {
    let name: String
    let rows: Int
    let cols: Int
    let input: String
    let bytes: String
    let dequantized: String
}

struct NF4Case: Decodable {
    let name: String
    let rows: Int
    let cols: Int
    let blocksize: Int
    let input: String
    let packed: String
    let dequantized: String
    let absmax: String?
    let absmax_codes: String?
    let absmax2: String?
    let offset: String?
    let absmax_dequantized: String?
}

struct AbsmaxDQCase: Decodable {
    let name: String
    let absmax: String
    let absmax_codes: String
    let absmax2: String
    let offset: String
    let absmax_dequantized: String
}

struct QuantFixtures: Decodable {
    let q8_0: [GGMLCase]
    let q4_0: [GGMLCase]
    let nf4: [NF4Case]
    let nf4_dq: [NF4Case]
    let absmax_dq: [AbsmaxDQCase]
    let nf4_codebook: String
    let dynamic_map: String

    static let shared: QuantFixtures = {
        let url = Bundle.module.url(forResource: "quant_fixtures", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(QuantFixtures.self, from: Data(contentsOf: url))
    }()
}

/// Little-endian float32 values from base64.
func floats(_ base64: String) -> [Float] {
    let data = Data(base64Encoded: base64)!
    return data.withUnsafeBytes { raw in
        (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
    }
}

/// Bytes from lowercase hex.
func bytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
}

/// Bit-for-bit equality of two float arrays (distinguishes −0 from +0).
func bitwiseEqual(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
}
