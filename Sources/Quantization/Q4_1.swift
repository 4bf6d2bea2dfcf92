/// GGML Q4_1, decoded to fp32 only: blocks of 32 weights, 20 bytes each — `d: fp16`, `m: fp16`, then
/// `qs: [16]` bytes; weight j (< 16) is the low nibble q of byte j and weight j + 16 its high nibble,
/// weight = `d · q + m` (product rounded to fp32, then the sum).
///
/// Layout and formula: ggml `ggml-common.h` `block_q4_1`, `ggml-quants.c` `dequantize_row_q4_1`;
/// gguf-py `gguf/quants.py` class `Q4_1.dequantize_blocks`, whose output this equals bit for bit.
public enum Q4_1 {
    /// Bytes per block, `sizeof(block_q4_1)`.
    public static let typeSize = 20
    /// Weights per block, `QK4_1`.
    public static let blockSize = 32

    /// The `count` weights stored in `bytes` (`count / 32` blocks, `20 · count / 32` bytes), in order.
    /// `count` must be a multiple of 32 and `bytes` exactly that long (precondition).
    public static func dequantize(_ bytes: UnsafeRawBufferPointer, count: Int) -> [Float] {
        decodeGGMLBlocks(bytes, count: count, format: "Q4_1", blockSize: blockSize, typeSize: typeSize) { block, x in
            let d = SIMD16<Float>(repeating: floatFromHalfBits(block.loadUnaligned(as: UInt16.self)))
            let m = SIMD16<Float>(repeating: floatFromHalfBits(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            let packed = block.loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)
            let low = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: packed & 0x0F))
            let high = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: packed &>> 4))
            let out = UnsafeMutableRawPointer(x)
            out.storeBytes(of: d * low + m, as: SIMD16<Float>.self)
            out.storeBytes(of: d * high + m, toByteOffset: 64, as: SIMD16<Float>.self)
        }
    }
}
