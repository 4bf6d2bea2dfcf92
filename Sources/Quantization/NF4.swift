/// bitsandbytes' NF4 (4-bit NormalFloat, QLoRA, arXiv:2305.14314) block functions.
///
/// Layout, as bitsandbytes `functional.quantize_4bit(A, blocksize, quant_type="nf4")` on CPU (its
/// pure-torch default backend, `backends/default/ops.py`):
/// - blocks of `blocksize` values run over the *flattened* row-major tensor (they may cross rows);
///   a last, shorter tail block gets its own absmax;
/// - one fp32 absmax per block; full blocks scale by `x · (1 / max(absmax, 1e-38))`, the tail block by
///   `x / max(absmax, 1e-38)` and stores the clamped absmax (1e-38 for an all-zero tail), then clamp to [−1, 1];
/// - the code is the nearest of the 16 codebook values, found against the midpoints between neighbours
///   (`torch.bucketize`, so a value exactly on a midpoint takes the lower code);
/// - two codes per byte, the first element of a pair in the high nibble; an odd count is padded with the
///   code of 0.0 (index 7).
/// Decoding is `codebook[code] · absmax` in fp32, as `dequantize_4bit`.
public enum NF4 {
    /// The 16 NF4 values, bitsandbytes `functional.get_4bit_type("nf4")` (quantiles of N(0, 1) scaled to
    /// [−1, 1], `create_normal_map(offset=0.9677083, use_extra_value=True)`), sorted ascending.
    public static let codebook: [Float] = [
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
        0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    ]

    /// Blocksizes bitsandbytes accepts for `quantize_4bit`.
    public static let validBlocksizes = [32, 64, 128, 256, 512, 1024, 2048, 4096]
    /// The block size used unless one is given: bitsandbytes `quantize_4bit`'s default, 64.
    public static let defaultBlocksize = 64

    /// `[15]` midpoints `(codebook[i] + codebook[i+1]) / 2` in fp32 (`_get_4bit_quantize_bounds`).
    static let midpoints: [Float] = (0..<15).map { (codebook[$0] + codebook[$0 + 1]) / 2 }

    /// For each byte: `(codebook[byte >> 4], codebook[byte & 15])`, the two weights it holds before scaling.
    static let pairTable: [SIMD2<Float>] = (0..<256).map { SIMD2(codebook[$0 >> 4], codebook[$0 & 15]) }

    /// Code of the value at index 7, 0.0 (used to pad an odd count).
    static let zeroCode: UInt8 = 7

    /// Packs `values` (flattened tensor) as bitsandbytes does.
    /// - Returns: `packed`: `(values.count + 1) / 2` bytes; `absmax`: one per block (tail included).
    /// Preconditions: finite values, `blocksize` in `validBlocksizes`.
    public static func quantize(_ values: [Float], blocksize: Int = defaultBlocksize) -> (packed: [UInt8], absmax: [Float]) {
        let blocks = (values.count + blocksize - 1) / blocksize
        var packed = [UInt8](repeating: 0, count: (values.count + 1) / 2)
        var absmax = [Float](repeating: 0, count: blocks)
        values.withUnsafeBufferPointer { x in
            packed.withUnsafeMutableBufferPointer { p in
                absmax.withUnsafeMutableBufferPointer { a in
                    quantizeBlocks(0..<blocks, of: x.baseAddress!, count: values.count, blocksize: blocksize,
                                   packed: p.baseAddress!, absmax: a.baseAddress!)
                }
            }
        }
        return (packed, absmax)
    }

    /// Unpacks `count` values from `packed` and per-block `absmax` (`dequantize_4bit`).
    public static func dequantize(packed: [UInt8], absmax: [Float], count: Int, blocksize: Int = defaultBlocksize) -> [Float] {
        precondition(packed.count == (count + 1) / 2 && absmax.count == (count + blocksize - 1) / blocksize,
                     "NF4: \(packed.count) bytes and \(absmax.count) absmax do not hold \(count) values")
        var values = [Float](repeating: 0, count: count)
        packed.withUnsafeBufferPointer { p in
            absmax.withUnsafeBufferPointer { a in
                values.withUnsafeMutableBufferPointer { out in
                    decodeElements(0..<count, packed: p.baseAddress!, blocksize: blocksize,
                                   absmax: a.baseAddress!, firstBlock: 0, into: out.baseAddress!)
                }
            }
        }
        return values
    }

    /// Quantizes blocks `blocks` of the flattened tensor `x: [count]`, writing their bytes of `packed` and
    /// their entries of `absmax`. Blocks own whole bytes (blocksize is even), so disjoint block ranges can
    /// run concurrently.
    static func quantizeBlocks(_ blocks: Range<Int>, of x: UnsafePointer<Float>, count: Int, blocksize: Int,
                               packed: UnsafeMutablePointer<UInt8>, absmax: UnsafeMutablePointer<Float>) {
        var scaled = [Float](repeating: 0, count: blocksize)
        var codes = [UInt32](repeating: 0, count: blocksize + 1)   // + 1: padding code of an odd tail
        midpoints.withUnsafeBufferPointer { bounds in
            scaled.withUnsafeMutableBufferPointer { s in
                codes.withUnsafeMutableBufferPointer { c in
                    for k in blocks {
                        let start = k * blocksize
                        let length = min(blocksize, count - start)
                        var largest: Float = 0
                        for i in 0..<length { largest = max(largest, abs(x[start + i])) }
                        // bitsandbytes: full blocks multiply by 1/absmax, the tail block divides by it
                        // and stores the clamped absmax
                        let isTail = length < blocksize
                        let clamped = max(largest, 1e-38)
                        let reciprocal = 1 / clamped
                        absmax[k] = isTail ? clamped : largest
                        for i in 0..<length {
                            let v = isTail ? x[start + i] / clamped : x[start + i] * reciprocal
                            s[i] = min(1, max(-1, v))
                        }
                        // code = how many midpoints lie strictly below the value (the sign bit of
                        // bound − value); elements innermost so that the loops vectorise
                        for i in 0..<length { c[i] = 0 }
                        c[length] = UInt32(zeroCode)
                        for bound in bounds {
                            for i in 0..<length { c[i] &+= (bound - s[i]).bitPattern &>> 31 }
                        }
                        for i in stride(from: 0, to: length, by: 2) {
                            packed[(start + i) / 2] = UInt8(truncatingIfNeeded: c[i] << 4 | c[i + 1])
                        }
                    }
                }
            }
        }
    }

    /// `Σ w·x` over `blocks` whole blocks of packed codes starting at `codes`, with their absmax values
    /// and `x: [blocks · blocksize]`, as four lane sums. Hot loop of NF4 decode: each byte looks up its
    /// two codebook values at once (`pairTable`); not inlined, returning lanes, so that the caller pays one
    /// call per row and the loop gets its own specialised copy.
    @inline(never)
    static func dotRow(_ codes: UnsafePointer<UInt8>, blocks: Int, blocksize: Int, absmax: UnsafePointer<Float>,
                       _ x: UnsafePointer<Float>) -> SIMD4<Float> {
        pairTable.withUnsafeBufferPointer { table in
            let t = table.baseAddress!
            var acc = SIMD4<Float>(repeating: 0)
            for k in 0..<blocks {
                var s0 = SIMD4<Float>(repeating: 0), s1 = s0
                let p = codes + k * blocksize / 2
                let xb = UnsafeRawPointer(x + k * blocksize)
                for j in stride(from: 0, to: blocksize / 2, by: 4) {
                    let w0 = SIMD4(lowHalf: t[Int(p[j])], highHalf: t[Int(p[j + 1])])
                    let w1 = SIMD4(lowHalf: t[Int(p[j + 2])], highHalf: t[Int(p[j + 3])])
                    s0 += w0 * xb.loadUnaligned(fromByteOffset: 8 * j, as: SIMD4<Float>.self)
                    s1 += w1 * xb.loadUnaligned(fromByteOffset: 8 * j + 16, as: SIMD4<Float>.self)
                }
                acc += (s0 + s1) * absmax[k]
            }
            return acc
        }
    }

    /// Decodes flattened elements `elements` to `out[0..<elements.count]`; `absmax[0]` is the absmax of
    /// block `firstBlock`, the block holding `elements.lowerBound`.
    static func decodeElements(_ elements: Range<Int>, packed: UnsafePointer<UInt8>, blocksize: Int,
                               absmax: UnsafePointer<Float>, firstBlock: Int, into out: UnsafeMutablePointer<Float>) {
        codebook.withUnsafeBufferPointer { code in
            for e in elements {
                let byte = packed[e / 2]
                let index = e % 2 == 0 ? byte >> 4 : byte & 0x0F
                out[e - elements.lowerBound] = code[Int(index)] * absmax[e / blocksize - firstBlock]
            }
        }
    }
}
