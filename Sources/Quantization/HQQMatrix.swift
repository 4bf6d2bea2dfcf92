import Tensors
import CKernels

/// A weight `[rows, cols]` stored in HQQ (precisions `hqq2`…`hqq4`, `hqq2-f16meta`…): `bits`-bit codes in
/// groups of `groupSize` consecutive weights of a row, one scale and zero-point per group
/// (`HQQGroupParameters`); weight = `(code − zero) · scale`. Products run on the packed codes; nothing is
/// kept in fp32.
///
/// Packing (ours, not hqq's, which packs whole tensors column-wise for its GPU kernels): each group's
/// codes take `groupSize · bits / 8` bytes, groups in row-major order, laid out so that one group
/// unpacks with a few shifts and masks per byte, without crossing bytes:
/// - 4 bits: byte j holds code j in its low nibble and code j + g/2 in its high nibble;
/// - 2 bits: byte j holds codes j, j + g/4, j + g/2, j + 3g/4 in bits 0–1, 2–3, 4–5, 6–7;
/// - 3 bits: the low two bits of every code as the 2-bit layout (g/4 bytes), then the third bit as
///   g/8 bytes where bit i of byte j belongs to code j + i·g/8.
public struct HQQMatrix: LinearOperator {
    public let rows: Int
    public let cols: Int
    public let settings: HQQ.Settings
    /// `rows · cols · bits / 8` bytes of packed codes (layout above).
    public let packed: [UInt8]
    /// One scale and zero-point per group, `rows · cols / groupSize` groups in row-major order.
    public let parameters: HQQGroupParameters

    /// Quantizes `weight` with HQQ's optimizer (`HQQ.quantize`, the whole tensor at once).
    /// - Throws: `QuantizeError.nonFiniteWeight`; `.rowLengthNotMultipleOfBlock` when `cols` is not a
    ///   multiple of the group size; `.overflow` when an fp16 scale or zero-point would be infinite.
    public init(quantizing weight: Matrix, tensorName: String, settings: HQQ.Settings) throws {
        let format = "HQQ \(settings.bits)-bit"
        guard weight.cols % settings.groupSize == 0 else {
            throw QuantizeError.rowLengthNotMultipleOfBlock(tensor: tensorName, format: format,
                                                            cols: weight.cols, blockSize: settings.groupSize)
        }
        try requireFinite(weight, tensorName: tensorName)
        let groups = HQQ.quantize(weight.values, bits: settings.bits, groupSize: settings.groupSize)
        let parameters: HQQGroupParameters
        if let m = settings.scaleGroupSize {
            parameters = .quantized(scales: HQQByteQuantized(quantizing: groups.scales, groupSize: m),
                                    zeros: HQQByteQuantized(quantizing: groups.zeros, groupSize: nil))
        } else {
            let largest: Float = 65504
            if let g = groups.scales.indices.first(where: { !(abs(groups.scales[$0]) <= largest && abs(groups.zeros[$0]) <= largest) }) {
                let start = g * settings.groupSize
                let column = start % weight.cols
                throw QuantizeError.overflow(tensor: tensorName, format: "\(format) (fp16 scale and zero-point)",
                                             row: start / weight.cols, column: column,
                                             value: weight.values[start], limit: largest)
            }
            parameters = .half(scales: groups.scales.map(halfBits), zeros: groups.zeros.map(halfBits))
        }
        self.init(rows: weight.rows, cols: weight.cols, settings: settings,
                  packed: HQQPacking.pack(groups.codes, bits: settings.bits, groupSize: settings.groupSize),
                  parameters: parameters)
    }

    /// Wraps stored HQQ data. Preconditions: sizes consistent with `[rows, cols]` and `settings`.
    public init(rows: Int, cols: Int, settings: HQQ.Settings, packed: [UInt8], parameters: HQQGroupParameters) {
        precondition(cols % settings.groupSize == 0 && packed.count == rows * cols * settings.bits / 8
                     && parameters.count == rows * cols / settings.groupSize,
                     "HQQMatrix: \(packed.count) bytes and \(parameters.count) groups do not hold [\(rows), \(cols)] at \(settings)")
        self.rows = rows
        self.cols = cols
        self.settings = settings
        self.packed = packed
        self.parameters = parameters
    }

    public var outFeatures: Int { rows }
    public var inFeatures: Int { cols }
    public var byteCount: Int { packed.count + parameters.byteCount }
    /// The precision's name (`hqq2`, `hqq4-f16meta`, …) for the settings of a precision, otherwise
    /// `hqqB-gG-sM` or `hqqB-gG-f16meta`.
    public var formatName: String {
        if let precision = Precision.allCases.first(where: { $0.hqqSettings == settings }) { return precision.rawValue }
        return "hqq\(settings.bits)-g\(settings.groupSize)" + (settings.scaleGroupSize.map { "-s\($0)" } ?? "-f16meta")
    }

    /// `y[r] = Σ_groups scale · (Σ code·x − zero · Σ x)`: per group the codes are unpacked to fp32 and
    /// dotted with x, and the zero-point is taken off once per group with the group's sum of x.
    public func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        if ActivationPrecision.current == .q8, takesRoundedActivations { return applyRounded(batch: 1, x, into: y) }
        let g = settings.groupSize, groupsPerRow = cols / g, groupBytes = g * settings.bits / 8
        withUnsafeTemporaryAllocation(of: Float.self, capacity: groupsPerRow) { sums in
            for k in 0..<groupsPerRow {
                var s: Float = 0
                for j in 0..<g { s += x[k * g + j] }
                sums[k] = s
            }
            let xSums = UnsafePointer(sums.baseAddress!)
            packed.withUnsafeBufferPointer { bytes in
                forEachRowRange(rows: rows, cols: cols) { range in
                    let count = groupsPerRow
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * count + g) { buffer in
                        let scales = buffer.baseAddress!, zeros = scales + count, w = zeros + count
                        for r in range {
                            parameters.decode((r * count)..<((r + 1) * count), scales: scales, zeros: zeros)
                            var total: Float = 0
                            for k in 0..<count {
                                HQQPacking.unpack(bytes.baseAddress! + (r * count + k) * groupBytes,
                                                  bits: settings.bits, groupSize: g, into: w)
                                let dot = dotProduct(w, x + k * g, g)
                                total += scales[k] * (dot - zeros[k] * xSums[k])
                            }
                            y[r] = total
                        }
                    }
                }
            }
        }
    }

    public func apply(batch n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        if ActivationPrecision.current == .q8, takesRoundedActivations { return applyRounded(batch: n, x, into: y) }
        applyBatch(rows: rows, cols: cols, n: n, x, into: y, matvec: apply, decodeRows: decodeRows)
    }

    /// Whether `--activations q8` takes the integer path (`applyRounded`): groups that tile the activations'
    /// blocks of 32 (group size a multiple of 32, or 8 or 16 — every HQQ precision's). Other group sizes
    /// keep fp32 activations.
    public var takesRoundedActivations: Bool {
        let g = settings.groupSize
        return cols % ggmlBlockSize == 0 && (g % ggmlBlockSize == 0 || ggmlBlockSize % g == 0)
    }

    /// `Y[n, rows] = X[n, cols] · Wᵀ` with X rounded to 8 bits per block of 32 (`ActivationPrecision.q8`, as
    /// for Q8_0/Q4_0) and integer inner sums: per row, token and group `s · Σ_segments d · (Σ q·a − z · Σ a)`
    /// over the group's segments of min(g, 32) values (`ck_hqq_q8_products`, Sources/CKernels/hqq_products.c,
    /// which states the arithmetic; every kernel gives the same bits). The activations are rounded and their
    /// code sums per segment taken once per product; each row is unpacked to one byte per code once for the
    /// n tokens. Precondition: `takesRoundedActivations`.
    /// - Parameters:
    ///   - x: `[n, cols]` row-major; y: `[n, rows]` row-major, overwritten.
    ///   - kernel: `.scalar` for plain C inner sums, else the CPU's vector path (default: the fastest).
    public func applyRounded(batch n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                             kernel: IntegerKernel = .best) {
        precondition(takesRoundedActivations, "HQQMatrix: group size \(settings.groupSize) does not tile blocks of 32")
        let g = settings.groupSize, groupsPerRow = cols / g, groupBytes = g * settings.bits / 8
        let segment = min(g, ggmlBlockSize), segmentsPerRow = cols / segment
        RoundedActivations.with(x, tokens: n, cols: cols) { rounded in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: n * segmentsPerRow) { codeSums in
                let xSums = codeSums.baseAddress!
                ck_code_sums(rounded.codes, n * cols, Int32(segment), xSums)
                packed.withUnsafeBufferPointer { bytes in
                    forEachRowRange(rows: rows, cols: n * cols) { range in
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * groupsPerRow) { parameterBuffer in
                            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: cols) { codes in
                                withUnsafeTemporaryAllocation(of: Int32.self, capacity: segmentsPerRow) { dots in
                                    let scales = parameterBuffer.baseAddress!, zeros = scales + groupsPerRow
                                    for r in range {
                                        parameters.decode((r * groupsPerRow)..<((r + 1) * groupsPerRow), scales: scales, zeros: zeros)
                                        ck_hqq_unpack(Int32(settings.bits), Int32(g), bytes.baseAddress! + r * groupsPerRow * groupBytes,
                                                      Int32(cols), codes.baseAddress!)
                                        ck_hqq_q8_products(kernel.path, codes.baseAddress!, Int32(cols), Int32(g), scales, zeros,
                                                           rounded.codes, rounded.scales, xSums, Int32(n), y + r, rows,
                                                           dots.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public func dequantized() -> Matrix { decodeAll(rows: rows, cols: cols, decodeRows: decodeRows) }

    /// Rows `range` decoded to fp32 `[range.count, cols]` at `out`: `(code − zero) · scale`, as hqq's
    /// `Quantizer.dequantize`.
    public func decodeRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let g = settings.groupSize, groupBytes = g * settings.bits / 8
        let groups = (range.lowerBound * cols / g)..<(range.upperBound * cols / g)
        guard !groups.isEmpty else { return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * groups.count) { buffer in
            let scales = buffer.baseAddress!, zeros = scales + groups.count
            parameters.decode(groups, scales: scales, zeros: zeros)
            packed.withUnsafeBufferPointer { bytes in
                for (i, k) in groups.enumerated() {
                    let w = out + i * g
                    HQQPacking.unpack(bytes.baseAddress! + k * groupBytes, bits: settings.bits, groupSize: g, into: w)
                    for j in 0..<g { w[j] = (w[j] - zeros[i]) * scales[i] }
                }
            }
        }
    }
}

/// `Σ a[j]·b[j]` over `count` (a multiple of 8) values, eight lanes at a time.
@inline(__always)
private func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    for j in stride(from: 0, to: count, by: 8) {
        acc.addProduct(ra.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self),
                       rb.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self))
    }
    return horizontalSum(acc)
}

/// The byte layout of HQQ codes, one group at a time (see `HQQMatrix`).
public enum HQQPacking {
    /// Packs `codes` (each below `2^bits`, a whole number of groups) group by group.
    public static func pack(_ codes: [UInt8], bits: Int, groupSize g: Int) -> [UInt8] {
        precondition(codes.count % g == 0, "HQQPacking: \(codes.count) codes are not whole groups of \(g)")
        let groupBytes = g * bits / 8
        var out = [UInt8](repeating: 0, count: codes.count / g * groupBytes)
        for start in stride(from: 0, to: codes.count, by: g) {
            let c = codes[start..<(start + g)].map(Int.init)
            let base = start / g * groupBytes
            switch bits {
            case 4:
                for j in 0..<(g / 2) { out[base + j] = UInt8(c[j] | c[j + g / 2] << 4) }
            case 2, 3:
                let quarter = g / 4
                for j in 0..<quarter {
                    out[base + j] = UInt8((c[j] & 3) | (c[j + quarter] & 3) << 2
                                          | (c[j + 2 * quarter] & 3) << 4 | (c[j + 3 * quarter] & 3) << 6)
                }
                if bits == 3 {
                    let eighth = g / 8
                    for j in 0..<eighth {
                        var high = 0
                        for i in 0..<8 { high |= (c[j + i * eighth] >> 2) << i }
                        out[base + quarter + j] = UInt8(high)
                    }
                }
            default:
                preconditionFailure("HQQPacking: \(bits) bits")
            }
        }
        return out
    }

    /// The `g` codes of the group at `bytes` as fp32, to `w[0..<g]`. The hot loop of HQQ products.
    @inline(__always)
    static func unpack(_ bytes: UnsafePointer<UInt8>, bits: Int, groupSize g: Int, into w: UnsafeMutablePointer<Float>) {
        switch bits {
        case 4:
            let half = g / 2
            for j in 0..<half {
                let b = Int32(bytes[j])
                w[j] = Float(b & 15)
                w[j + half] = Float(b >> 4)
            }
        default:
            let quarter = g / 4
            for j in 0..<quarter {
                let b = Int32(bytes[j])
                w[j] = Float(b & 3)
                w[j + quarter] = Float((b >> 2) & 3)
                w[j + 2 * quarter] = Float((b >> 4) & 3)
                w[j + 3 * quarter] = Float(b >> 6)
            }
            if bits == 3 {
                let eighth = g / 8
                for j in 0..<eighth {
                    let high = Int32(bytes[quarter + j])
                    for i in 0..<8 { w[j + i * eighth] += Float((high >> Int32(i)) & 1) * 4 }
                }
            }
        }
    }

    /// Unpacks every code of `packed` (whole groups), one per byte.
    public static func unpack(_ packed: [UInt8], bits: Int, groupSize g: Int) -> [UInt8] {
        let groupBytes = g * bits / 8
        var codes = [UInt8](repeating: 0, count: packed.count / groupBytes * g)
        var w = [Float](repeating: 0, count: g)
        packed.withUnsafeBufferPointer { p in
            for k in 0..<(packed.count / groupBytes) {
                w.withUnsafeMutableBufferPointer { unpack(p.baseAddress! + k * groupBytes, bits: bits, groupSize: g, into: $0.baseAddress!) }
                for j in 0..<g { codes[k * g + j] = UInt8(w[j]) }
            }
        }
        return codes
    }
}
