/// GGML Q5_0, decoded to fp32 only: blocks of 32 weights, 22 bytes each — `d: fp16`, `qh: UInt32`
/// (little-endian, bit j is the fifth bit of weight j), then `qs: [16]` bytes holding the low four
/// bits (weight j < 16 in the low nibble of byte j, weight j + 16 in its high nibble);
/// weight = `d · (q − 16)` with q = low bits | fifth bit << 4.
///
/// Layout and formula: ggml `ggml-common.h` `block_q5_0`, `ggml-quants.c` `dequantize_row_q5_0`;
/// gguf-py `gguf/quants.py` class `Q5_0.dequantize_blocks`, whose output this equals bit for bit.
public enum Q5_0 {
    /// Bytes per block, `sizeof(block_q5_0)`.
    public static let typeSize = 22
    /// Weights per block, `QK5_0`.
    public static let blockSize = 32

    /// The `count` weights stored in `bytes` (`count / 32` blocks, `22 · count / 32` bytes), in order.
    /// `count` must be a multiple of 32 and `bytes` exactly that long (precondition).
    public static func dequantize(_ bytes: UnsafeRawBufferPointer, count: Int) -> [Float] {
        let bitIndex = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        return decodeGGMLBlocks(bytes, count: count, format: "Q5_0", blockSize: blockSize, typeSize: typeSize) { block, x in
            let d = SIMD16<Float>(repeating: floatFromHalfBits(block.loadUnaligned(as: UInt16.self)))
            let qh = SIMD16<UInt32>(repeating: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian)
            let packed = SIMD16<UInt32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 6, as: SIMD16<UInt8>.self))
            let low = (packed & 0x0F) | (((qh &>> bitIndex) & 1) &<< 4)
            let high = (packed &>> 4) | (((qh &>> (bitIndex &+ 16)) & 1) &<< 4)
            let out = UnsafeMutableRawPointer(x)
            out.storeBytes(of: d * SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: low) &- 16), as: SIMD16<Float>.self)
            out.storeBytes(of: d * SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: high) &- 16), toByteOffset: 64,
                           as: SIMD16<Float>.self)
        }
    }
}
