import Foundation
import Testing
import Tensors
@testable import Quantization

// Round-to-nearest, GPTQ and AWQ against the numpy reference of tools/make_calibration_fixtures.py.

private struct CalibrationFixtures: Decodable {
    struct Case: Decodable {
        let bits: Int
        let rtn: [Float]
        let gptq: [Float]
        let awq_alpha: Double
        let awq: [Float]
    }
    let rows: Int
    let cols: Int
    let n: Int
    let weight: [Float]
    let inputs: [Float]
    let cases: [Case]

    static let shared: CalibrationFixtures = {
        let url = Bundle.module.url(forResource: "calibration_fixtures", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(CalibrationFixtures.self, from: Data(contentsOf: url))
    }()
}

/// Largest |a − b| relative to the largest |b|.
private func relativeGap(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max()! / b.map(abs).max()!
}

@Test func roundToNearestMatchesTheReference() {
    let f = CalibrationFixtures.shared
    for c in f.cases {
        let out = BlockGrid(bits: c.bits).roundToNearest(Matrix(rows: f.rows, cols: f.cols, values: f.weight)).values
        #expect(out == c.rtn, "\(c.bits) bits")
    }
}

@Test func roundToNearestAtFourBitsIsQ4_0() throws {
    let f = CalibrationFixtures.shared
    let weight = Matrix(rows: f.rows, cols: f.cols, values: f.weight)
    let q4 = try Q4_0Matrix(quantizing: weight, tensorName: "w").dequantized().values
    #expect(BlockGrid(bits: 4).roundToNearest(weight).values == q4)
}

@Test func gptqMatchesTheReference() {
    let f = CalibrationFixtures.shared
    let weight = Matrix(rows: f.rows, cols: f.cols, values: f.weight)
    let inputs = Matrix(rows: f.n, cols: f.cols, values: f.inputs)
    for c in f.cases {
        let out = GPTQ.quantize(weight, inputs: inputs, grid: BlockGrid(bits: c.bits)).values
        // Same codes: every decoded weight equal up to the fp64 summation order of H and its factors.
        #expect(relativeGap(out, c.gptq) < 1e-5, "\(c.bits) bits")
    }
}

@Test func awqMatchesTheReference() {
    let f = CalibrationFixtures.shared
    let weight = Matrix(rows: f.rows, cols: f.cols, values: f.weight)
    let inputs = Matrix(rows: f.n, cols: f.cols, values: f.inputs)
    for c in f.cases {
        let result = AWQ.quantize(weight, inputs: inputs, grid: BlockGrid(bits: c.bits))
        #expect(result.alpha == c.awq_alpha, "\(c.bits) bits")
        #expect(relativeGap(result.weight.values, c.awq) < 1e-6, "\(c.bits) bits")
    }
}

@Test func calibratedMethodsBeatRoundToNearestOnTheirOwnInputs() {
    // What both papers claim, on the fixture: a smaller output error ‖X(W − Ŵ)ᵀ‖² than round-to-nearest.
    let f = CalibrationFixtures.shared
    let weight = Matrix(rows: f.rows, cols: f.cols, values: f.weight)
    let inputs = Matrix(rows: f.n, cols: f.cols, values: f.inputs)
    let g = gram(inputs).map { Float($0) }
    func outputError(_ w: Matrix) -> Double {
        quadraticForm(zip(weight.values, w.values).map { $0 - $1 }, g, rows: f.rows, cols: f.cols)
    }
    for bits in [3, 4] {
        let grid = BlockGrid(bits: bits)
        let rtn = outputError(grid.roundToNearest(weight))
        #expect(outputError(GPTQ.quantize(weight, inputs: inputs, grid: grid)) < rtn)
        #expect(outputError(AWQ.quantize(weight, inputs: inputs, grid: grid).weight) < rtn)
    }
}
