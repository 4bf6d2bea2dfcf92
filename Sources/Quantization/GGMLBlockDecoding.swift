/// Shared driver of the GGML decoders that only dequantize (Q4_1, Q5_0, Q4_K, Q6_K): `count`
/// weights stored as `count / blockSize` consecutive blocks of `typeSize` bytes, each decoded by
/// `decodeBlock(block, out)` into `blockSize` floats. A size mismatch is a programming error
/// (precondition): a GGUF reader checks the tensor's byte size against its shape before decoding.
@inline(__always)
func decodeGGMLBlocks(_ bytes: UnsafeRawBufferPointer, count: Int, format: String, blockSize: Int, typeSize: Int,
                      _ decodeBlock: (UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    precondition(count >= 0 && count % blockSize == 0, "\(format): \(count) weights is not a whole number of \(blockSize)-weight blocks")
    let blocks = count / blockSize
    precondition(bytes.count == blocks * typeSize, "\(format): \(bytes.count) bytes for \(blocks) blocks of \(typeSize) bytes")
    guard blocks > 0 else { return [] }
    let base = bytes.baseAddress!
    return [Float](unsafeUninitializedCapacity: count) { out, initialized in
        for b in 0..<blocks { decodeBlock(base + b * typeSize, out.baseAddress! + b * blockSize) }
        initialized = count
    }
}
