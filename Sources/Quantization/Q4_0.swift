import CKernels

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

    public static var codeOffset: Float { 8 }

    /// The block's 32 codes (0…15) as fp32: element j < 16 from the low nibble of byte j, element j + 16
    /// from its high nibble. A plain loop that LLVM turns into byte → int32 widening, a mask, a shift and
    /// conversions 8 lanes at a time.
    @inline(__always)
    public static func codes(_ block: UnsafeRawPointer, into w: UnsafeMutablePointer<Float>) {
        let codes = (block + 2).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let byte = Int32(codes[j])
            w[j] = Float(byte & 15)
            w[j + 16] = Float(byte >> 4)
        }
    }

    @inline(never)
    public static func decodeBlocks(_ blocks: UnsafeRawPointer, count: Int, into x: UnsafeMutablePointer<Float>) {
        decodeBlocksOneByOne(blocks, count: count, into: x)
    }

    public static func fp32Products(_ kernel: IntegerKernel, _ layout: ck_layout, _ weights: UnsafeRawPointer, rows: Int, blocks: Int,
                                    _ x: UnsafePointer<Float>, xBlockSums: UnsafePointer<Float>, tokens n: Int,
                                    into y: UnsafeMutablePointer<Float>, yStride: Int) {
        ck_q4_0_products_f32(kernel.path, layout, weights.assumingMemoryBound(to: UInt8.self), Int32(rows), Int32(blocks), x, xBlockSums,
                             Int32(n), y, yStride)
    }

    public static func roundedProducts(_ kernel: IntegerKernel, _ layout: ck_layout, _ weights: UnsafeRawPointer, rows: Int, blocks: Int,
                                       _ x: RoundedActivations, tokens n: Int, into y: UnsafeMutablePointer<Float>,
                                       yStride: Int) {
        ck_q4_0_products(kernel.path, layout, weights.assumingMemoryBound(to: UInt8.self), Int32(rows), Int32(blocks),
                         x.codes, x.scales, x.sums, Int32(n), y, yStride)
    }
}
