/// The scales and zero-points of an HQQ tensor, one of each per group, as stored: fp16, or quantized to
/// 8 bits as in the paper's recipe.
public enum HQQGroupParameters: Sendable, Equatable {
    /// fp16 bit patterns of the scale `1/s` and zero-point `z` per group: what hqq 0.2.8's `HQQLinear`
    /// keeps by default (`quant_scale=False, quant_zero=False`, meta-data cast to its `compute_dtype`,
    /// float16).
    case half(scales: [UInt16], zeros: [UInt16])
    /// 8-bit codes (hqq's `quant_scale=True, quant_zero=True`; Eliseev & Mazur 2023 use them for Mixtral):
    /// scales in strided groups of `scales.groupSize`, zero-points with one range for the whole tensor.
    case quantized(scales: HQQByteQuantized, zeros: HQQByteQuantized)

    /// Number of weight groups described.
    public var count: Int {
        switch self {
        case .half(let scales, _): return scales.count
        case .quantized(let scales, _): return scales.codes.count
        }
    }

    /// Bytes held: 2 + 2 per group for `half`; for `quantized`, both `HQQByteQuantized.byteCount`s.
    public var byteCount: Int {
        switch self {
        case .half(let scales, let zeros): return 2 * (scales.count + zeros.count)
        case .quantized(let scales, let zeros): return scales.byteCount + zeros.byteCount
        }
    }

    /// Scales and zero-points of groups `groups` in fp32, to `scales[0..<groups.count]` and `zeros[…]`.
    func decode(_ groups: Range<Int>, scales: UnsafeMutablePointer<Float>, zeros: UnsafeMutablePointer<Float>) {
        switch self {
        case .half(let s, let z):
            for g in groups {
                scales[g - groups.lowerBound] = floatFromHalfBits(s[g])
                zeros[g - groups.lowerBound] = floatFromHalfBits(z[g])
            }
        case .quantized(let s, let z):
            s.decode(groups, into: scales)
            z.decode(groups, into: zeros)
        }
    }
}

/// Values (the scales or the zero-points of an HQQ tensor) quantized to 8 bits without the optimizer, as
/// hqq's `Quantizer.quantize(values, nbits=8, optimize=False, …)` with the meta-data parameters of
/// `BaseQuantizeConfig` (`hqq/core/quantize.py`, `hqq_base_quant_config`):
/// - scales: `channel_wise=True, group_size=m` along axis 0: the values are laid out as `[m, count/m]`
///   and each *column* is a group, so value `i` belongs to group `i mod (count/m)` — strided, not
///   consecutive. hqq requires `count` to be a multiple of m; here a count that is not one gets
///   `⌈count/m⌉` columns (groups of m or m − 1 values), which is hqq's layout whenever hqq accepts it;
/// - zero-points: `channel_wise=False`: one group, the whole tensor.
/// Per group: `s = (1/(max − min)) · 255` (1 when max − min ≤ 1e-4, at most 2·10⁴), `z = −min · s`,
/// code `clamp(round(v·s + z), 0, 255)`; decoding is `(code − z) · (1/s)` in fp32.
public struct HQQByteQuantized: Sendable, Equatable {
    /// One code per value.
    public let codes: [UInt8]
    /// Per group, the decoding scale `1/s`.
    public let scales: [Float]
    /// Per group, the zero-point `z`.
    public let zeros: [Float]

    /// Wraps stored values. Precondition: `scales.count == zeros.count`, between 1 and `codes.count`
    /// (an empty tensor has one group).
    public init(codes: [UInt8], scales: [Float], zeros: [Float]) {
        precondition(scales.count == zeros.count && scales.count >= 1 && scales.count <= max(codes.count, 1),
                     "HQQ 8-bit values: \(scales.count) scales, \(zeros.count) zeros for \(codes.count) codes")
        self.codes = codes
        self.scales = scales
        self.zeros = zeros
    }

    /// Quantizes `values` (finite) in strided groups of about `groupSize` values, or as one group when
    /// `groupSize` is nil.
    public init(quantizing values: [Float], groupSize: Int?) {
        let groups = Self.groupCount(values: values.count, groupSize: groupSize)
        var codes = [UInt8](repeating: 0, count: values.count)
        var scales: [Float] = [], zeros: [Float] = []
        var members = [Float]()
        for g in 0..<groups {
            members.removeAll(keepingCapacity: true)
            for i in stride(from: g, to: values.count, by: groups) { members.append(values[i]) }
            let (scale, zero) = members.withUnsafeBufferPointer { m -> (Float, Float) in
                m.isEmpty ? (1, 0) : HQQ.initialScaleAndZero(m.baseAddress!, count: m.count, levels: 255, roundZero: false)
            }
            for i in stride(from: g, to: values.count, by: groups) {
                codes[i] = UInt8(HQQ.code(values[i], scale: scale, zero: zero, levels: 255))
            }
            scales.append(1 / scale)
            zeros.append(zero)
        }
        self.init(codes: codes, scales: scales, zeros: zeros)
    }

    /// Groups of `values` values quantized in groups of about `groupSize` (nil: one group): at least one.
    public static func groupCount(values: Int, groupSize: Int?) -> Int {
        groupSize.map { max(1, (values + $0 - 1) / $0) } ?? 1
    }

    /// Number of groups (`scales.count`).
    public var groupCount: Int { scales.count }

    /// Bytes held: one per code, 4 + 4 per group (fp32 scale and zero).
    public var byteCount: Int { codes.count + 8 * scales.count }

    /// Every value decoded, `[codes.count]`.
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: codes.count)
        out.withUnsafeMutableBufferPointer { decode(0..<codes.count, into: $0.baseAddress!) }
        return out
    }

    /// Values `range` decoded to `out[0..<range.count]`.
    func decode(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let groups = scales.count
        for i in range {
            let g = i % groups
            out[i - range.lowerBound] = (Float(codes[i]) - zeros[g]) * scales[g]
        }
    }
}
