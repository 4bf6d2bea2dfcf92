/// GGML Q8_0 (precision `int8`): blocks of 32 weights along a row, 34 bytes each —
/// `d: fp16` then `qs: [32] int8`, weight = `qs[j] · d`.
///
/// Quantization follows gguf-py `gguf/quants.py` class `Q8_0` (bit-exact with `quantize_row_q8_0_ref`
/// in ggml's `ggml-quants.c`): `d = absmax / 127` in fp32, `id = 1/d` (0 when d = 0),
/// `qs[j] = round-half-away-from-zero(x[j] · id)`; d is stored rounded to fp16 (nearest even).
/// When `1/d` overflows (blocks of fp32 subnormals) the products are NaN/Inf, which numpy casts to 0:
/// all codes are 0, and the fp16 scale is 0 too, so the block decodes to exactly 0.
public enum Q8_0: GGMLBlockFormat {
    public static var precision: Precision { .int8 }
    public static var ggmlName: String { "Q8_0" }
    public static var typeSize: Int { 34 }
    public static var largestAbsmax: Float { 65504 * 127 }

    @inline(__always)
    public static func quantizeBlock(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let d = Float(bitPattern: largestMagnitudeBits(x)) / 127
        let id: Float = d == 0 ? 0 : 1 / d
        block.storeBytes(of: halfBits(d), as: UInt16.self)
        let qs = (block + 2).assumingMemoryBound(to: Int8.self)
        guard id.isFinite else { return qs.update(repeating: 0, count: 32) }
        for j in 0..<32 {
            // gguf-py np_roundf: |v| → ⌊|v|⌋ + ⌊2·(|v| − ⌊|v|⌋)⌋, sign restored; branch-free so it vectorises
            let v = x[j] * id
            let magnitude = abs(v)
            let whole = floorOfSmallFloat(magnitude)
            let twiceFraction = 2 * (magnitude - Float(Int32(bitPattern: whole)))   // in [0, 2)
            let rounded = Int32(bitPattern: whole &+ 1 &- ((twiceFraction - 1).bitPattern &>> 31))
            let sign = Int32(bitPattern: v.bitPattern) &>> 31                         // 0 or −1
            qs[j] = Int8(truncatingIfNeeded: (rounded ^ sign) &- sign)
        }
    }

    @inline(__always)
    public static func dequantizeBlock(_ block: UnsafeRawPointer, into x: UnsafeMutablePointer<Float>) {
        let d = floatFromHalfBits(block.loadUnaligned(as: UInt16.self))
        let (low, high) = codes(block)
        let out = UnsafeMutableRawPointer(x)
        out.storeBytes(of: low * d, as: SIMD16<Float>.self)
        out.storeBytes(of: high * d, toByteOffset: 64, as: SIMD16<Float>.self)
    }

    /// The block's 32 int8 codes as fp32, in two halves of 16 (SIMD16: wider vectors are split lane by
    /// lane by the compiler).
    @inline(__always)
    static func codes(_ block: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        let low = block.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)
        let high = block.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)
        return (SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: low)), SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: high)))
    }

    public static func kernelOrder(_ x: UnsafePointer<Float>, count: Int) -> [Float] {
        byteLaneOrder(x, count: count)
    }

    // Hot loop (int8 decode): per block, two groups of 16 codes; byte k of each 32-bit word is one
    // SIMD4 of weights (see "Byte lanes" below), multiplied with x and scaled by d.
    @inline(never)
    public static func dotRow(_ row: UnsafeRawPointer, blocks: Int, _ x: UnsafePointer<Float>) -> SIMD4<Float> {
        var acc = SIMD4<Float>(repeating: 0)
        for b in 0..<blocks {
            let block = row + b * 34
            let d = floatFromHalfBits(block.loadUnaligned(as: UInt16.self))
            var s0 = SIMD4<Float>(repeating: 0), s1 = s0, s2 = s0, s3 = s0
            for group in 0..<2 {
                // int8 → unsigned byte + 128 (flip the sign bit), decoded below with offset 128
                let q = block.loadUnaligned(fromByteOffset: 2 + 16 * group, as: SIMD4<UInt32>.self) ^ 0x8080_8080
                let xg = UnsafeRawPointer(x + 32 * b + 16 * group)
                s0 += floatsFromSmallIntegers(q & 0xFF, minus: 128) * xg.loadUnaligned(as: SIMD4<Float>.self)
                s1 += floatsFromSmallIntegers((q &>> 8) & 0xFF, minus: 128) * xg.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self)
                s2 += floatsFromSmallIntegers((q &>> 16) & 0xFF, minus: 128) * xg.loadUnaligned(fromByteOffset: 32, as: SIMD4<Float>.self)
                s3 += floatsFromSmallIntegers(q &>> 24, minus: 128) * xg.loadUnaligned(fromByteOffset: 48, as: SIMD4<Float>.self)
            }
            acc += ((s0 + s1) + (s2 + s3)) * d
        }
        return acc
    }
}

// Byte lanes: the Q8_0 kernel loads 16 code bytes as four 32-bit words (`SIMD4<UInt32>`) and takes byte k
// of every word at once with a shift and a mask, which gives the codes of elements {k, 4+k, 8+k, 12+k}.
// Reordering x once per product (a 4×4 transpose inside every group of 16) lines those elements up, so
// no lane shuffles or integer→float conversion calls are needed per block. A small integer n becomes
// the float n + 2²³ by OR-ing it into the mantissa of 2²³ (0x4B00_0000); one subtraction removes 2²³
// and the format's offset exactly.

/// `x` (count a multiple of 16) with element `16g + 4i + k` moved to `16g + 4k + i`.
func byteLaneOrder(_ x: UnsafePointer<Float>, count: Int) -> [Float] {
    var out = [Float](repeating: 0, count: count)
    for group in stride(from: 0, to: count, by: 16) {
        for i in 0..<4 {
            for k in 0..<4 { out[group + 4 * k + i] = x[group + 4 * i + k] }
        }
    }
    return out
}

/// `bytes + 2²³` as fp32 (exact for values below 2²³), minus `offset + 2²³`: exactly `bytes − offset`.
@inline(__always)
func floatsFromSmallIntegers(_ bytes: SIMD4<UInt32>, minus offset: Float) -> SIMD4<Float> {
    unsafeBitCast(bytes | 0x4B00_0000, to: SIMD4<Float>.self) - (0x1p23 + offset)
}
