import Foundation
import Testing
import Tensors
@testable import Quantization

@Test func errorMetricsOnAKnownExample() {
    let original = Matrix(rows: 2, cols: 2, values: [1, 2, 3, 4])
    let e = ErrorMetrics(original: original, decoded: Matrix(rows: 2, cols: 2, values: [1, 2, 3, 5]), bitsPerWeight: 4.5)
    #expect(e.mse == 0.25)
    #expect(e.maxAbsError == 1)
    #expect(abs(e.snrDB - 10 * log10(30.0)) < 1e-12)
    #expect(abs(e.relativeFrobenius - (1.0 / 30).squareRoot()) < 1e-12)
    #expect(e.bitsPerWeight == 4.5)

    let exact = ErrorMetrics(original: original, quantized: original)
    #expect(exact.mse == 0 && exact.snrDB == .infinity && exact.relativeFrobenius == 0 && exact.bitsPerWeight == 32)
}

@Test func fewerBitsGiveMoreErrorOnGaussianWeights() throws {
    let w = Matrix(rows: 64, cols: 256, values: randomWeights(64 * 256, seed: 11))
    let snr = try [Precision.bf16, .int8, .nf4, .q4].map { ErrorMetrics(original: w, quantized: try quantize(w, to: $0, tensorName: "w")).snrDB }
    #expect(snr[0] > snr[1] && snr[1] > snr[2] && snr[1] > snr[3])
    #expect(snr[1] > 35 && snr[2] > 17 && snr[3] > 17)   // Q8_0 ≈ 40 dB, 4-bit ≈ 20 dB on Gaussian weights
}

@Test func klDivergenceAndTop1() {
    #expect(klDivergence(p: [0.2, 0.8], q: [0.2, 0.8]) == 0)
    let expected = 0.5 * log(0.5 / 0.25) + 0.5 * log(0.5 / 0.75)
    #expect(abs(klDivergence(p: [0.5, 0.5], q: [0.25, 0.75]) - expected) < 1e-12)
    #expect(klDivergence(p: [0, 1], q: [1, 0]) == .infinity)
    #expect(klDivergence(p: [0, 1], q: [0.5, 0.5]) == log(2.0))
    #expect(argmax([1, 3, 3, 2]) == 1)
    #expect(top1Agrees([0.1, 0.7, 0.2], [0.2, 0.5, 0.3]))
    #expect(!top1Agrees([0.1, 0.7, 0.2], [0.5, 0.4, 0.1]))
}
