import Foundation

/// NF4 absmax values stored with bitsandbytes' double quantization (QLoRA §3, "double quantization"),
/// as `functional.quantize_4bit(..., compress_statistics=True)`:
/// `offset = mean(absmax)`, then `absmax − offset` is quantized with `quantize_blockwise(blocksize=256)`
/// to 8-bit codes of the signed dynamic map (`DynamicMap.signed`) with one fp32 `absmax2` per 256 codes.
/// Decoding (`dequantize_4bit`): `absmax[k] = dynamicMap[codes[k]] · absmax2[k / 256] + offset` in fp32.
///
/// Bit-exactness: decoding matches bitsandbytes exactly. Encoding picks the nearest code (ties to the
/// lower one) as `quantize_block` in bitsandbytes' `csrc/common.cpp` intends; its CPU kernel finds the
/// left neighbour with an approximate SIMD binary search (`BinSearch.h`) and so picks the other
/// neighbour for about one code in several hundred. `offset` is the mean accumulated in fp64 and
/// rounded once to fp32, which can differ from torch's fp32 `mean()` in the last bit.
public struct DoubleQuantizedAbsmax: Sendable, Equatable {
    /// Codes per second-level block (`blocksize=256` in `quantize_4bit`).
    public static let blocksize = 256

    /// One 8-bit code per NF4 block, an index into `DynamicMap.signed`.
    public let codes: [UInt8]
    /// `[ceil(codes.count / 256)]` fp32 absmax of `absmax − offset` per second-level block.
    public let absmax2: [Float]
    /// Mean of the original absmax values, fp32.
    public let offset: Float

    /// Wraps stored values (e.g. from a bitsandbytes checkpoint: `absmax`, `nested_absmax`, `nested_offset`).
    public init(codes: [UInt8], absmax2: [Float], offset: Float) {
        precondition(absmax2.count == (codes.count + Self.blocksize - 1) / Self.blocksize,
                     "double-quantized absmax: \(absmax2.count) absmax2 for \(codes.count) codes")
        self.codes = codes
        self.absmax2 = absmax2
        self.offset = offset
    }

    /// Double-quantizes NF4 absmax values (finite, as produced by `NF4.quantize`).
    public init(quantizing absmax: [Float]) {
        let offset = Float(absmax.reduce(0.0) { $0 + Double($1) } / Double(max(absmax.count, 1)))
        let centered = absmax.map { $0 - offset }
        var codes = [UInt8](repeating: 0, count: absmax.count)
        var absmax2: [Float] = []
        let map = DynamicMap.signed
        for start in stride(from: 0, to: centered.count, by: Self.blocksize) {
            let block = start..<min(start + Self.blocksize, centered.count)
            let largest = block.reduce(Float(0)) { max($0, abs(centered[$1])) }
            absmax2.append(largest)
            for i in block {
                // An all-equal block has largest = 0 and 0/0 would be NaN: give it the code of 0.0.
                codes[i] = largest == 0 ? DynamicMap.zeroCode : DynamicMap.nearestCode(centered[i] / largest, in: map)
            }
        }
        self.init(codes: codes, absmax2: absmax2, offset: offset)
    }

    /// Bytes held: one per code, 4 per absmax2, 4 for the offset (the dynamic map is a shared constant).
    public var byteCount: Int { codes.count + 4 * absmax2.count + 4 }

    /// All absmax values decoded, `[codes.count]`.
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: codes.count)
        out.withUnsafeMutableBufferPointer { decode(0..<codes.count, into: $0.baseAddress!) }
        return out
    }

    /// Absmax of blocks `blocks` decoded to `out[0..<blocks.count]`.
    func decode(_ blocks: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let map = DynamicMap.signed
        for k in blocks {
            let scaled = map[Int(codes[k])] * absmax2[k / Self.blocksize]
            out[k - blocks.lowerBound] = scaled + offset
        }
    }
}

/// bitsandbytes' signed 8-bit dynamic quantization map (`functional.create_dynamic_map(signed=True)`,
/// Dettmers 2015, arXiv:1511.04561): for exponent i in 0..<7, `2^i` fraction means between
/// `linspace(0.1, 1, 2^i + 1)` points, scaled by `10^(i−6)`, both signs; plus 0 and 1; sorted.
public enum DynamicMap {
    /// The 256 values, ascending (index 127 is 0.0, index 255 is 1.0).
    public static let signed: [Float] = make()

    /// Index of 0.0 in `signed`.
    static let zeroCode: UInt8 = 127

    private static func make() -> [Float] {
        var data: [Float] = []
        let maxExponentBits = 7
        for i in 0..<maxExponentBits {
            let boundaries = torchLinspace(0.1, 1, steps: (1 << i) + 1)
            let means = (0..<(boundaries.count - 1)).map { (boundaries[$0] + boundaries[$0 + 1]) / 2 }
            // torch multiplies an fp32 tensor by a Python float after casting the scalar to fp32.
            let scale = Float(pow(10.0, Double(i - (maxExponentBits - 1))))
            data += means.map { scale * $0 }
            data += means.map { -scale * $0 }
        }
        data += [0, 1]
        return data.sorted()
    }

    /// `torch.linspace(start, end, steps, dtype=torch.float32)` on CPU: `step = (end − start)/(steps − 1)`
    /// in fp32; the first half counts up from `start`, the second half down from `end` (aten
    /// `RangeFactoriesKernel.cpp`), each value one fused multiply-add as torch's build contracts them
    /// (checked against torch 2.x output in the fixtures).
    static func torchLinspace(_ start: Float, _ end: Float, steps: Int) -> [Float] {
        let step = (end - start) / Float(steps - 1)
        return (0..<steps).map { i in
            i < steps / 2 ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(steps - i - 1))
        }
    }

    /// The code whose value is nearest to `value` (in [−1, 1]); on a tie the lower code, as
    /// `quantize_block` in bitsandbytes' `csrc/common.cpp`.
    static func nearestCode(_ value: Float, in map: [Float]) -> UInt8 {
        // largest index whose value is ≤ `value` (0 if none), then compare with its right neighbour
        var low = 0, high = map.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if map[mid] <= value { low = mid } else { high = mid - 1 }
        }
        if low < map.count - 1 && abs(value - map[low + 1]) < abs(value - map[low]) { low += 1 }
        return UInt8(low)
    }
}
