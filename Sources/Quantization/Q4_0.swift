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
        let v = UnsafeRawPointer(x).loadUnaligned(as: SIMD32<Float>.self)
        let absmax = blockAbsmax(v)
        var m: Float = 0
        for j in 0..<32 where abs(x[j]) == absmax { m = x[j]; break }
        let d = m / -8
        let id: Float = d == 0 ? 0 : 1 / d
        var q = SIMD32<UInt8>(repeating: 0)
        if id.isFinite {
            let shifted = v * id + 8.5
            let codes = pointwiseMin(SIMD32<Int32>(shifted, rounding: .towardZero), SIMD32<Int32>(repeating: 15))
            q = SIMD32<UInt8>(truncatingIfNeeded: codes)
        }
        block.storeBytes(of: halfBits(d), as: UInt16.self)
        block.storeBytes(of: q.lowHalf | (q.highHalf &<< 4), toByteOffset: 2, as: SIMD16<UInt8>.self)
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

    // Hot loop (q4 decode): per block, split 16 bytes into 32 nibbles in SIMD registers, multiply with x,
    // scale by d.
    @inline(__always)
    public static func dotRow(_ row: UnsafeRawPointer, blocks: Int, _ x: UnsafePointer<Float>) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        for b in 0..<blocks {
            let block = row + b * 18
            let d = floatFromHalfBits(block.loadUnaligned(as: UInt16.self))
            let (low, high) = codes(block)
            let xb = UnsafeRawPointer(x + b * 32)
            let sum = low * xb.loadUnaligned(as: SIMD16<Float>.self)
                + high * xb.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            acc += sum * d
        }
        return horizontalSum(acc)
    }
}
