import Foundation
import Testing
@testable import Quantization

// The block quantizers use branch-free integer tricks so that they vectorise; here they are checked
// against the formulas written plainly (gguf-py quants.py), on many random blocks of varied scale.

private func plainQ8_0(_ x: [Float]) -> [UInt8] {
    let absmax = x.map { abs($0) }.max()!
    let d = absmax / 127
    let id: Float = d == 0 ? 0 : 1 / d
    let codes = x.map { v -> UInt8 in
        let product = v * id
        guard product.isFinite else { return 0 }
        return UInt8(bitPattern: Int8(product.rounded(.toNearestOrAwayFromZero)))
    }
    let scale = Float16(d).bitPattern
    return [UInt8(scale & 0xFF), UInt8(scale >> 8)] + codes
}

private func plainQ4_0(_ x: [Float]) -> [UInt8] {
    let index = x.indices.max { abs(x[$0]) < abs(x[$1]) || (abs(x[$0]) == abs(x[$1]) && $0 > $1) }!
    let d = x[index] / -8
    let id: Float = d == 0 ? 0 : 1 / d
    let codes = x.map { v -> UInt8 in
        let shifted = v * id + 8.5
        guard shifted.isFinite else { return 0 }
        return UInt8(min(15, Int(shifted.rounded(.towardZero))))
    }
    let scale = Float16(d).bitPattern
    return [UInt8(scale & 0xFF), UInt8(scale >> 8)] + (0..<16).map { codes[$0] | codes[$0 + 16] << 4 }
}

@Test func blockQuantizersMatchThePlainFormulas() {
    var state: UInt64 = 12345
    func uniform() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 24)
    }
    for trial in 0..<3000 {
        let scale = powf(10, Float(trial % 13) - 8)          // 1e-8 … 1e4
        var x = (0..<32).map { _ in (uniform() * 2 - 1) * scale }
        if trial % 5 == 0 { x[Int(uniform() * 32)] = -x.map { abs($0) }.max()! }   // ties of magnitude
        if trial % 7 == 0 { for j in 0..<32 { x[j] = (x[j] * 4).rounded() / 4 } }      // values on .5 / .25
        #expect(Q8_0.quantize(x) == plainQ8_0(x), "Q8_0 trial \(trial)")
        #expect(Q4_0.quantize(x) == plainQ4_0(x), "Q4_0 trial \(trial)")
    }
}

@Test func floorOfSmallFloatIsExact() {
    for t: Float in [0, 0.25, 0.5, 0.49999997, 0.99999994, 1, 1.5, 2.5, 8.5, 15.999999, 16, 16.5, 127.5, 4_194_303.5] {
        #expect(floorOfSmallFloat(t) == UInt32(t.rounded(.down)), "\(t)")
    }
}
