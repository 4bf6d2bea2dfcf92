/// GGML Q6_K ("k-quant"), decoded to fp32 only: super-blocks of 256 weights, 210 bytes each —
/// `ql: [128]` bytes (low four bits), `qh: [64]` bytes (high two bits), `scales: [16]` Int8 (one per
/// 16 weights), then `d: fp16`; weight i = `(d · scales[i / 16]) · (q − 32)`, the product d · scale
/// rounded to fp32 first.
///
/// Bit layout, per half h (weights 128h ..< 128h + 128) and r < 128 within it: the low bits are nibble
/// r / 64 (low, then high) of `ql[64h + r % 64]`, the high bits are bits 2·(r / 32) … +1 of
/// `qh[32h + r % 32]`. ggml `ggml-common.h` `block_q6_K`, `ggml-quants.c` `dequantize_row_q6_K`;
/// gguf-py `gguf/quants.py` class `Q6_K.dequantize_blocks`, whose output this equals bit for bit.
public enum Q6_K {
    /// Bytes per super-block, `sizeof(block_q6_K)`.
    public static let typeSize = 210
    /// Weights per super-block, `QK_K`.
    public static let blockSize = 256

    /// The `count` weights stored in `bytes` (`count / 256` super-blocks, `210 · count / 256` bytes),
    /// in order. `count` must be a multiple of 256 and `bytes` exactly that long (precondition).
    public static func dequantize(_ bytes: UnsafeRawBufferPointer, count: Int) -> [Float] {
        decodeGGMLBlocks(bytes, count: count, format: "Q6_K", blockSize: blockSize, typeSize: typeSize) { block, x in
            let d = floatFromHalfBits(block.loadUnaligned(fromByteOffset: 208, as: UInt16.self))
            let scales = block.loadUnaligned(fromByteOffset: 192, as: SIMD16<Int8>.self)
            let out = UnsafeMutableRawPointer(x)
            for h in 0..<2 {
                let high = block.loadUnaligned(fromByteOffset: 128 + 32 * h, as: SIMD32<UInt8>.self)
                for quarter in 0..<4 {   // weights 128h + 32·quarter ..< +32
                    let lowBytes = block.loadUnaligned(fromByteOffset: 64 * h + 32 * (quarter % 2), as: SIMD32<UInt8>.self)
                    let low = quarter < 2 ? lowBytes & 0x0F : lowBytes &>> 4
                    let q = low | (((high &>> UInt8(2 * quarter)) & 3) &<< 4)
                    let codes = SIMD32<Float>(SIMD32<Int32>(truncatingIfNeeded: q) &- 32)
                    let group = 8 * h + 2 * quarter   // scales index of the first 16 of these 32 weights
                    let scale0 = SIMD16<Float>(repeating: d * Float(scales[group]))
                    let scale1 = SIMD16<Float>(repeating: d * Float(scales[group + 1]))
                    let offset = 512 * h + 128 * quarter
                    out.storeBytes(of: scale0 * codes.lowHalf, toByteOffset: offset, as: SIMD16<Float>.self)
                    out.storeBytes(of: scale1 * codes.highHalf, toByteOffset: offset + 64, as: SIMD16<Float>.self)
                }
            }
        }
    }
}
