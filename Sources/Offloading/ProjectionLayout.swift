import Tensors
import Quantization

/// How one expert projection is laid out in a slot and on disk: its storage format and shape, as the
/// consecutive arrays (segments) of that format's `LinearOperator`, little-endian:
///
/// - `fp32`: values `[rows · cols]` Float (`Matrix`)
/// - `bf16`, `f16`: `[rows · cols]` UInt16 (`BF16Matrix`, `F16Matrix`)
/// - `q8_0`, `q4_0`: GGML blocks, `rows · cols/32 · typeSize` bytes (`Q8_0Matrix`, `Q4_0Matrix`)
/// - `nf4`: packed codes `(rows · cols + 1)/2` bytes, then absmax `[blocks]` Float (`NF4Matrix`)
/// - `nf4dq`: packed codes, absmax codes `[blocks]` bytes, absmax2 `[⌈blocks/256⌉]` Float, offset Float
/// - `hqq` (`HQQMatrix`, settings in `hqq`): packed codes `rows · cols · bits/8` bytes, then with fp16
///   meta-data scales `[groups]` and zero-points `[groups]` UInt16; with 8-bit meta-data scale codes
///   `[groups]` bytes, the scales' scales and zero-points `[2 · scale groups]` Float, zero-point codes
///   `[groups]` bytes, the zero-points' scale and zero-point `[2]` Float
///
/// `byteCount` equals the operator's `byteCount`, so slot sizes and the simulator's expert sizes agree.
public struct ProjectionLayout: Codable, Sendable, Equatable {
    public enum Format: String, Codable, Sendable {
        case fp32, bf16, f16, q8_0, q4_0, nf4, nf4dq, hqq

        /// The precision whose kernels run this format; nil for HQQ, whose precision depends on its
        /// settings (`ProjectionLayout.precision`).
        public var precision: Precision? {
            switch self {
            case .fp32: return .fp32
            case .bf16: return .bf16
            case .f16: return .f16
            case .q8_0: return .int8
            case .q4_0: return .q4
            case .nf4: return .nf4
            case .nf4dq: return .nf4dq
            case .hqq: return nil
            }
        }
    }

    public let format: Format
    /// Output and input features of the projection.
    public let rows: Int
    public let cols: Int
    /// NF4 blocksize (0 for the other formats).
    public let blocksize: Int
    /// HQQ code width and group sizes (nil for the other formats).
    public let hqq: HQQLayout?

    /// `HQQ.Settings` as stored in a manifest.
    public struct HQQLayout: Codable, Sendable, Equatable {
        public let bits: Int
        public let groupSize: Int
        public let scaleGroupSize: Int?

        var settings: HQQ.Settings { HQQ.Settings(bits: bits, groupSize: groupSize, scaleGroupSize: scaleGroupSize) }
    }

    public init(format: Format, rows: Int, cols: Int, blocksize: Int = 0, hqq: HQQLayout? = nil) {
        self.format = format
        self.rows = rows
        self.cols = cols
        self.blocksize = blocksize
        self.hqq = hqq
    }

    /// The layout of a loaded weight, or nil for a type with no streamed form.
    public init?(of weight: any LinearOperator) {
        let rows = weight.outFeatures, cols = weight.inFeatures
        switch weight {
        case is Matrix: self.init(format: .fp32, rows: rows, cols: cols)
        case is BF16Matrix: self.init(format: .bf16, rows: rows, cols: cols)
        case is F16Matrix: self.init(format: .f16, rows: rows, cols: cols)
        case is Q8_0Matrix: self.init(format: .q8_0, rows: rows, cols: cols)
        case is Q4_0Matrix: self.init(format: .q4_0, rows: rows, cols: cols)
        case let nf4 as NF4Matrix:
            if case .doubleQuantized = nf4.absmax {
                self.init(format: .nf4dq, rows: rows, cols: cols, blocksize: nf4.blocksize)
            } else {
                self.init(format: .nf4, rows: rows, cols: cols, blocksize: nf4.blocksize)
            }
        case let hqq as HQQMatrix:
            let s = hqq.settings
            self.init(format: .hqq, rows: rows, cols: cols,
                      hqq: HQQLayout(bits: s.bits, groupSize: s.groupSize, scaleGroupSize: s.scaleGroupSize))
        default: return nil
        }
    }

    /// The precision whose kernels run this projection: the format's, or for HQQ the precision with these
    /// settings (nil for HQQ settings no precision names).
    public var precision: Precision? {
        guard let hqq else { return format.precision }
        return Precision.allCases.first { $0.hqqSettings == hqq.settings }
    }

    var weights: Int { rows * cols }
    /// NF4 blocks over the flattened weight.
    var nf4Blocks: Int { blocksize > 0 ? (weights + blocksize - 1) / blocksize : 0 }

    /// Bytes of each segment, in storage order.
    public var segmentBytes: [Int] {
        switch format {
        case .fp32: return [4 * weights]
        case .bf16, .f16: return [2 * weights]
        case .q8_0: return [weights / ggmlBlockSize * Q8_0.typeSize]
        case .q4_0: return [weights / ggmlBlockSize * Q4_0.typeSize]
        case .nf4: return [(weights + 1) / 2, 4 * nf4Blocks]
        case .nf4dq:
            let absmax2 = (nf4Blocks + DoubleQuantizedAbsmax.blocksize - 1) / DoubleQuantizedAbsmax.blocksize
            return [(weights + 1) / 2, nf4Blocks, 4 * absmax2, 4]
        case .hqq:
            let hqq = hqq!, groups = weights / hqq.groupSize, packed = weights * hqq.bits / 8
            guard let m = hqq.scaleGroupSize else { return [packed, 2 * groups, 2 * groups] }
            return [packed, groups, 8 * max(1, (groups + m - 1) / m), groups, 8]
        }
    }

    /// Bytes of the projection (all segments).
    public var byteCount: Int { segmentBytes.reduce(0, +) }

    /// The segments of `weight` (whose layout is this one) as consecutive bytes, for writing a store.
    public func bytes(of weight: any LinearOperator) -> [UInt8] {
        precondition(ProjectionLayout(of: weight) == self, "ProjectionLayout: \(type(of: weight)) does not have layout \(self)")
        func raw<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
        switch weight {
        case let m as Matrix: return raw(m.values)
        case let h as BF16Matrix: return raw(h.storage)
        case let h as F16Matrix: return raw(h.storage)
        case let q as Q8_0Matrix: return q.blocks
        case let q as Q4_0Matrix: return q.blocks
        case let nf4 as NF4Matrix:
            switch nf4.absmax {
            case .plain(let absmax): return nf4.packed + raw(absmax)
            case .doubleQuantized(let dq): return nf4.packed + dq.codes + raw(dq.absmax2) + raw([dq.offset])
            }
        case let hqq as HQQMatrix:
            switch hqq.parameters {
            case .half(let scales, let zeros): return hqq.packed + raw(scales) + raw(zeros)
            case .quantized(let scales, let zeros):
                return hqq.packed + scales.codes + raw(scales.scales + scales.zeros) + zeros.codes + raw(zeros.scales + zeros.zeros)
            }
        default: preconditionFailure("ProjectionLayout: no stored form for \(type(of: weight))")
        }
    }
}

/// The three projections of one expert (w1, w2, w3, stored in that order); every expert of a model has
/// the same layout.
public struct ExpertLayout: Codable, Sendable, Equatable {
    public let w1: ProjectionLayout
    public let w2: ProjectionLayout
    public let w3: ProjectionLayout

    public init(w1: ProjectionLayout, w2: ProjectionLayout, w3: ProjectionLayout) {
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    public var projections: [ProjectionLayout] { [w1, w2, w3] }

    /// The projections' formats as stored, e.g. "q4_0", or "f16/q8_0" when they differ.
    public var formatNames: String { Set(projections.map(\.format.rawValue)).sorted().joined(separator: "/") }

    /// Bytes of one expert.
    public var byteCount: Int { w1.byteCount + w2.byteCount + w3.byteCount }
}
