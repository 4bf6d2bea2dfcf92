/// GGML Q4_K ("k-quant"), decoded to fp32 only: super-blocks of 256 weights, 144 bytes each —
/// `d: fp16`, `dmin: fp16`, `scales: [12]` bytes packing eight 6-bit scales `sc` and eight 6-bit
/// mins `m`, then `qs: [128]` bytes. Sub-block i (32 weights) is the low nibbles (i even) or high
/// nibbles (i odd) of bytes 32·(i/2) ..< 32·(i/2) + 32; weight = `(d · sc[i]) · q − dmin · m[i]`, each
/// product rounded to fp32.
///
/// Scale packing (bytes 0–3: sc[0…3] in the low 6 bits; 4–7: m[0…3]; 8–11: low nibble sc[4…7] and high
/// nibble m[4…7], whose top two bits are the top two bits of bytes 0–3 and 4–7):
/// ggml `ggml-quants.c` `get_scale_min_k4`, `dequantize_row_q4_K`, `ggml-common.h` `block_q4_K`;
/// gguf-py `gguf/quants.py` `Q4_K.get_scale_min` and `Q4_K.dequantize_blocks`, whose output this equals
/// bit for bit.
public enum Q4_K {
    /// Bytes per super-block, `sizeof(block_q4_K)`.
    public static let typeSize = 144
    /// Weights per super-block, `QK_K`.
    public static let blockSize = 256

    /// The `count` weights stored in `bytes` (`count / 256` super-blocks, `144 · count / 256` bytes),
    /// in order. `count` must be a multiple of 256 and `bytes` exactly that long (precondition).
    public static func dequantize(_ bytes: UnsafeRawBufferPointer, count: Int) -> [Float] {
        decodeGGMLBlocks(bytes, count: count, format: "Q4_K", blockSize: blockSize, typeSize: typeSize) { block, x in
            let d = floatFromHalfBits(block.loadUnaligned(as: UInt16.self))
            let dmin = floatFromHalfBits(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
            let packed = block.loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)   // 12 scale bytes (+4 of qs, unused)
            let (sc, m) = scalesAndMins(packed)
            let out = UnsafeMutableRawPointer(x)
            for chunk in 0..<4 {
                let codes = block.loadUnaligned(fromByteOffset: 16 + 32 * chunk, as: SIMD32<UInt8>.self)
                for half in 0..<2 {   // sub-block 2·chunk: low nibbles; 2·chunk + 1: high nibbles
                    let i = 2 * chunk + half
                    let q = SIMD32<Float>(SIMD32<Int32>(truncatingIfNeeded: half == 0 ? codes & 0x0F : codes &>> 4))
                    let scale = SIMD32<Float>(repeating: d * Float(sc[i]))
                    let offset = SIMD32<Float>(repeating: dmin * Float(m[i]))
                    out.storeBytes(of: scale * q - offset, toByteOffset: 128 * i, as: SIMD32<Float>.self)
                }
            }
        }
    }

    /// The eight 6-bit scales and mins of a super-block from its 12 scale bytes (the first 12 lanes).
    @inline(__always)
    static func scalesAndMins(_ bytes: SIMD16<UInt8>) -> (sc: SIMD8<UInt8>, m: SIMD8<UInt8>) {
        var sc = SIMD8<UInt8>(), m = SIMD8<UInt8>()
        for j in 0..<4 {
            sc[j] = bytes[j] & 63
            m[j] = bytes[j + 4] & 63
            sc[j + 4] = (bytes[j + 8] & 0x0F) | ((bytes[j] >> 2) & 0x30)
            m[j + 4] = (bytes[j + 8] >> 4) | ((bytes[j + 4] >> 2) & 0x30)
        }
        return (sc, m)
    }
}
