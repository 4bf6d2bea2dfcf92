import Foundation
import Testing
import Tensors
@testable import Quantization

// Golden outputs of hqq 0.2.8 on CPU, made by tools/make_hqq_fixtures.py.

struct HQQMetaCase: Decodable {
    let scale_group_size: Int
    let scale_codes: String
    let scale_scales: String
    let scale_zeros: String
    let scales_dequantized: String
    let zero_codes: String
    let zero_scale: Double
    let zero_zero: Double
}

struct HQQCase: Decodable {
    let bits: Int
    let group_size: Int
    let codes: String
    let scales: String
    let zeros: String
    let meta: HQQMetaCase?
}

struct HQQTensor: Decodable {
    let name: String
    let rows: Int
    let cols: Int
    let input: String
    let cases: [HQQCase]
}

struct HQQFixtures: Decodable {
    let hqq_version: String
    let tensors: [HQQTensor]

    static let shared: HQQFixtures = {
        let url = Bundle.module.url(forResource: "hqq_fixtures", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(HQQFixtures.self, from: Data(contentsOf: url))
    }()
}


/// Bytes from base64.
private func base64Bytes(_ base64: String) -> [UInt8] { Array(Data(base64Encoded: base64)!) }

/// Every (tensor, case) of the fixtures, labelled.
private let hqqCases: [(label: String, tensor: HQQTensor, case: HQQCase)] = HQQFixtures.shared.tensors.flatMap { t in
    t.cases.map { ("\(t.name) \($0.bits)-bit g\($0.group_size)", t, $0) }
}

/// How far our zero-points are from hqq's: the largest difference in code units (the zero-point is in
/// the units of the codes, so 1e-5 moves a weight by 1e-5 of a quantization step).
/// Measured with hqq 0.2.8 / torch 2.15 fixtures: at most 1.9e-6 (a few ulps of zero-points up to 15).
private let zeroTolerance: Float = 1e-5

@Test func hqqCodesEqualTheLibrarysAndScalesAndZerosAgreeToRounding() {
    #expect(HQQFixtures.shared.hqq_version == "0.2.8")
    var largestZeroDifference: Float = 0
    var exactZeros = 0, allZeros = 0
    for (label, tensor, c) in hqqCases {
        let input = floats(tensor.input)
        let ours = HQQ.quantize(input, bits: c.bits, groupSize: c.group_size)
        let codes = base64Bytes(c.codes)
        let mismatches = zip(ours.codes, codes).filter { $0 != $1 }.count
        #expect(mismatches == 0, "\(label): \(mismatches) of \(codes.count) codes differ from hqq's")
        // the scale comes from the group's min and max only: the same operations, bit for bit
        #expect(ours.scales == floats(c.scales), "\(label): scales")
        let zeros = floats(c.zeros)
        #expect(ours.zeros.count == zeros.count)
        let difference = zip(ours.zeros, zeros).map { abs($0 - $1) }.max() ?? 0
        largestZeroDifference = max(largestZeroDifference, difference)
        exactZeros += zip(ours.zeros, zeros).filter { $0.bitPattern == $1.bitPattern }.count
        allZeros += zeros.count
        #expect(difference <= zeroTolerance, "\(label): zero-points differ by up to \(difference)")
    }
    print("HQQ fixtures: \(exactZeros) of \(allZeros) zero-points bit-identical to hqq's, largest difference \(largestZeroDifference)")
}

@Test func hqqEightBitScalesAndZerosEqualTheLibrarys() {
    var checked = 0
    for (label, _, c) in hqqCases {
        guard let meta = c.meta else { continue }
        checked += 1
        // quantize hqq's own scales and zero-points, so that this test sees only the 8-bit step
        let scales = HQQByteQuantized(quantizing: floats(c.scales), groupSize: meta.scale_group_size)
        #expect(scales.codes == base64Bytes(meta.scale_codes), "\(label): scale codes")
        #expect(scales.scales == floats(meta.scale_scales), "\(label): the scales' scales")
        #expect(scales.zeros == floats(meta.scale_zeros), "\(label): the scales' zero-points")
        #expect(scales.dequantized() == floats(meta.scales_dequantized), "\(label): decoded scales")
        let zeros = HQQByteQuantized(quantizing: floats(c.zeros), groupSize: nil)
        #expect(zeros.codes == base64Bytes(meta.zero_codes), "\(label): zero-point codes")
        #expect(zeros.scales == [Float(meta.zero_scale)] && zeros.zeros == [Float(meta.zero_zero)], "\(label): the zero-points' scale and zero")
    }
    #expect(checked >= 8)
}

@Test func hqqMatrixDecodesAsTheLibrarysDequantize() throws {
    // fp16 meta-data: (code − zero) · scale with hqq's codes and its scale and zero rounded to fp16
    for (label, tensor, c) in hqqCases {
        let w = Matrix(rows: tensor.rows, cols: tensor.cols, values: floats(tensor.input))
        let settings = HQQ.Settings(bits: c.bits, groupSize: c.group_size, scaleGroupSize: nil)
        let matrix = try HQQMatrix(quantizing: w, tensorName: label, settings: settings)
        #expect(HQQPacking.unpack(matrix.packed, bits: c.bits, groupSize: c.group_size) == base64Bytes(c.codes), "\(label)")
        let codes = base64Bytes(c.codes), scales = floats(c.scales), zeros = floats(c.zeros)
        let decoded = matrix.dequantized().values
        for i in stride(from: 0, to: codes.count, by: 7) {
            let g = i / c.group_size
            let expected = (Float(codes[i]) - floatFromHalfBits(halfBits(zeros[g]))) * floatFromHalfBits(halfBits(scales[g]))
            #expect(abs(decoded[i] - expected) <= 1e-3 * abs(expected) + 1e-6, "\(label) weight \(i)")
        }
    }
}

@Test(arguments: [2, 3, 4])
func hqqPackingRoundTrips(bits: Int) {
    for g in [8, 16, 64, 128] {
        let levels = 1 << bits
        let codes: [UInt8] = (0..<(4 * g)).map { (i: Int) -> UInt8 in UInt8((i * 7 + i / 3) % levels) }
        let packed = HQQPacking.pack(codes, bits: bits, groupSize: g)
        #expect(packed.count == codes.count * bits / 8)
        #expect(HQQPacking.unpack(packed, bits: bits, groupSize: g) == codes, "\(bits)-bit g\(g)")
    }
}

@Test func hqqSpecialGroupsDecodeSensibly() throws {
    // an all-zero group decodes to zeros and a constant group to its constant, up to the zero-point's
    // storage: fp16, or 8 bits over the whole tensor's range of zero-points (about 0.01 of a step here)
    var values = randomWeights(4 * 64, seed: 11)
    for j in 0..<64 { values[j] = 0; values[64 + j] = 0.25 }
    let w = Matrix(rows: 4, cols: 64, values: values)
    for precision in [Precision.hqq4, .hqq3, .hqq2, .hqq4HalfMetadata, .hqq3HalfMetadata, .hqq2HalfMetadata] {
        let decoded = try quantize(w, to: precision, tensorName: "w").dequantized().values
        let tolerance: Float = precision.hqqSettings?.scaleGroupSize == nil ? 1e-3 : 0.01
        #expect(decoded[0..<64].allSatisfy { abs($0) < tolerance }, "\(precision): all-zero group")
        #expect(decoded[64..<128].allSatisfy { abs($0 - 0.25) < tolerance }, "\(precision): constant group")
    }
}
