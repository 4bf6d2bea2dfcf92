/// GGML Q4_0 (precision `q4`): blocks of 32 weights along a row, 18 bytes each — `d: fp16` then
/// `qs: [16]` bytes; weight j (< 16) is the low nibble of byte j and weight j + 16 its high nibble,
/// weight = `(nibble − 8) · d`.
///
/// Quantization follows gguf-py `gguf/quants.py` class `Q4_0` (as `quantize_row_q4_0_ref` in
/// ggml's `ggml-quants.c`): `m` = the signed value of largest magnitude (the first one on ties),
/// `d = m / −8` so that m maps to code 0, `id = 1/d` (0 when d = 0),
/// `q = min(15, trunc(x · id + 8.5))` with the product and the sum each rounded in fp32 (no fused
/// multiply-add). NaN/Inf from an overflowing `1/d` (subnormal blocks) become code 0, as numpy's cast.
public enum Q4_0: GGMLBlockFormat {
    public static var precision: Precision { .q4 }
    public static var ggmlName: String { "Q4_0" }
    public static var typeSize: Int { 18 }
    public static var largestAbsmax: Float { 65504 * 8 }

    @inline(__always)
    public static func quantizeBlock(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let m = largestMagnitudeValue(x)   // the signed value of largest magnitude (numpy argmax)
        let d = m / -8
        let id: Float = d == 0 ? 0 : 1 / d
        block.storeBytes(of: halfBits(d), as: UInt16.self)
        let qs = (block + 2).assumingMemoryBound(to: UInt8.self)
        guard id.isFinite else { return qs.update(repeating: 0, count: 16) }
        var codes = (SIMD16<UInt32>(), SIMD16<UInt32>())
        withUnsafeMutableBytes(of: &codes) { raw in
            let q = raw.baseAddress!.assumingMemoryBound(to: UInt32.self)
            // t = x·id + 8.5 lies in [0.5, 16.5); np.trunc(t) = floor(t), computed without a trapping
            // float→int conversion so that the loop vectorises (see `floorOfSmallFloat`)
            for j in 0..<32 { q[j] = min(15, floorOfSmallFloat(x[j] * id + 8.5)) }
        }
        let packed = SIMD16<UInt8>(truncatingIfNeeded: codes.0 | (codes.1 &<< 4))
        UnsafeMutableRawPointer(qs).storeBytes(of: packed, as: SIMD16<UInt8>.self)
    }

    @inline(__always)
    public static func dequantizeBlock(_ block: UnsafeRawPointer, into x: UnsafeMutablePointer<Float>) {
        let d = floatFromHalfBits(block.loadUnaligned(as: UInt16.self))
        let (low, high) = codes(block)
        let out = UnsafeMutableRawPointer(x)
        out.storeBytes(of: low * d, as: SIMD16<Float>.self)
        out.storeBytes(of: high * d, toByteOffset: 64, as: SIMD16<Float>.self)
    }

    /// The block's codes minus 8 as fp32: weights 0–15 (low nibbles) and 16–31 (high nibbles).
    @inline(__always)
    static func codes(_ block: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        let packed = block.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self)
        let low = SIMD16<Int32>(truncatingIfNeeded: packed & 0x0F) &- 8
        let high = SIMD16<Int32>(truncatingIfNeeded: packed &>> 4) &- 8
        return (SIMD16<Float>(low), SIMD16<Float>(high))
    }

    /// For each byte of codes: `(low nibble − 8, high nibble − 8)`, the unscaled weights j and j + 16 it holds.
    static let pairTable: [SIMD2<Float>] = (0..<256).map { SIMD2(Float($0 & 15) - 8, Float($0 >> 4) - 8) }

    /// `x` with the two elements each code byte holds side by side: within every block of 32, element j
    /// moves to 2j and element j + 16 to 2j + 1.
    public static func kernelOrder(_ x: UnsafePointer<Float>, count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        for block in stride(from: 0, to: count, by: 32) {
            for j in 0..<16 {
                out[block + 2 * j] = x[block + j]
                out[block + 2 * j + 1] = x[block + j + 16]
            }
        }
        return out
    }

    // Hot loop (q4 decode): per block, each code byte looks up its two weights at once in `pairTable`;
    // four bytes make 8 weights that multiply 8 consecutive x (in `kernelOrder`); the sum is scaled by d.
    @inline(never)
    public static func dotRow(_ row: UnsafeRawPointer, blocks: Int, _ x: UnsafePointer<Float>) -> SIMD4<Float> {
        pairTable.withUnsafeBufferPointer { table in
            let t = table.baseAddress!
            var acc = SIMD4<Float>(repeating: 0)
            for b in 0..<blocks {
                let block = row + b * 18
                let d = floatFromHalfBits(block.loadUnaligned(as: UInt16.self))
                let codes = (block + 2).assumingMemoryBound(to: UInt8.self)
                let xb = UnsafeRawPointer(x + 32 * b)
                var s0 = SIMD4<Float>(repeating: 0), s1 = s0
                for j in stride(from: 0, to: 16, by: 4) {
                    let w0 = SIMD4(lowHalf: t[Int(codes[j])], highHalf: t[Int(codes[j + 1])])
                    let w1 = SIMD4(lowHalf: t[Int(codes[j + 2])], highHalf: t[Int(codes[j + 3])])
                    s0 += w0 * xb.loadUnaligned(fromByteOffset: 8 * j, as: SIMD4<Float>.self)
                    s1 += w1 * xb.loadUnaligned(fromByteOffset: 8 * j + 16, as: SIMD4<Float>.self)
                }
                acc += (s0 + s1) * d
            }
            return acc
        }
    }
}
