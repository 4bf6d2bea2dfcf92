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
        let v = UnsafeRawPointer(x).loadUnaligned(as: SIMD32<Float>.self)
        let d = blockAbsmax(v) / 127
        let id: Float = d == 0 ? 0 : 1 / d
        var q = SIMD32<Int8>(repeating: 0)
        if id.isFinite {
            q = SIMD32<Int8>(truncatingIfNeeded: SIMD32<Int32>((v * id).rounded(.toNearestOrAwayFromZero)))
        }
        block.storeBytes(of: halfBits(d), as: UInt16.self)
        block.storeBytes(of: q, toByteOffset: 2, as: SIMD32<Int8>.self)
    }

    @inline(__always)
    public static func dequantizeBlock(_ block: UnsafeRawPointer, into x: UnsafeMutablePointer<Float>) {
        let d = floatFromHalfBits(block.loadUnaligned(as: UInt16.self))
        let q = block.loadUnaligned(fromByteOffset: 2, as: SIMD32<Int8>.self)
        let w = SIMD32<Float>(SIMD32<Int32>(truncatingIfNeeded: q)) * d
        UnsafeMutableRawPointer(x).storeBytes(of: w, as: SIMD32<Float>.self)
    }

    // Hot loop (int8 decode): per block, widen 32 int8 codes to fp32, multiply with x, scale by d.
    @inline(__always)
    public static func dotRow(_ row: UnsafeRawPointer, blocks: Int, _ x: UnsafePointer<Float>) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        for b in 0..<blocks {
            let block = row + b * 34
            let d = floatFromHalfBits(block.loadUnaligned(as: UInt16.self))
            let q = block.loadUnaligned(fromByteOffset: 2, as: SIMD32<Int8>.self)
            let w = SIMD32<Float>(SIMD32<Int32>(truncatingIfNeeded: q))
            let products = w * UnsafeRawPointer(x + b * 32).loadUnaligned(as: SIMD32<Float>.self)
            acc += (products.lowHalf + products.highHalf) * d
        }
        return horizontalSum(acc)
    }
}
