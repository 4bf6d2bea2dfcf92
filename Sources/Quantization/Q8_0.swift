import CKernels

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

    public static var codeOffset: Float { 0 }

    /// The block's 32 int8 codes as fp32 (the weights over d). A plain loop that LLVM turns into
    /// int8 → int32 widening and conversions 8 lanes at a time.
    @inline(__always)
    public static func codes(_ block: UnsafeRawPointer, into w: UnsafeMutablePointer<Float>) {
        let codes = (block + 2).assumingMemoryBound(to: Int8.self)
        for j in 0..<32 { w[j] = Float(Int32(codes[j])) }
    }

    @inline(never)
    public static func decodeBlocks(_ blocks: UnsafeRawPointer, count: Int, into x: UnsafeMutablePointer<Float>) {
        decodeBlocksOneByOne(blocks, count: count, into: x)
    }

    public static func fp32Products(_ kernel: IntegerKernel, _ layout: ck_layout, _ weights: UnsafeRawPointer, rows: Int, blocks: Int,
                                    _ x: UnsafePointer<Float>, xBlockSums: UnsafePointer<Float>, tokens n: Int,
                                    into y: UnsafeMutablePointer<Float>, yStride: Int) {
        ck_q8_0_products_f32(kernel.path, layout, weights.assumingMemoryBound(to: UInt8.self), Int32(rows), Int32(blocks), x, xBlockSums,
                             Int32(n), y, yStride)
    }

    public static func roundedProducts(_ kernel: IntegerKernel, _ layout: ck_layout, _ weights: UnsafeRawPointer, rows: Int, blocks: Int,
                                       _ x: RoundedActivations, tokens n: Int, into y: UnsafeMutablePointer<Float>,
                                       yStride: Int) {
        ck_q8_0_products(kernel.path, layout, weights.assumingMemoryBound(to: UInt8.self), Int32(rows), Int32(blocks),
                         x.codes, x.scales, x.sums, Int32(n), y, yStride)
    }
}
