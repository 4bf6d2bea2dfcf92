import Tensors

/// A 16-bit storage encoding of fp32 weights: bfloat16 or IEEE fp16, round-to-nearest-even.
public protocol HalfEncoding: Sendable {
    /// The precision this encoding implements (`.bf16` or `.f16`).
    static var precision: Precision { get }
    /// Largest finite magnitude (bf16 ≈ 3.39e38, fp16 65504).
    static var largestFinite: Float { get }
    /// fp32 → 16-bit pattern, round-to-nearest-even; overflow gives ±Inf.
    static func encode(_ x: Float) -> UInt16
    /// 16-bit pattern → fp32 (exact).
    static func decode(_ h: UInt16) -> Float
    /// 16 patterns → fp32 at once.
    static func decode16(_ h: SIMD16<UInt16>) -> SIMD16<Float>
    /// `Σ w·x` over `count` weights (default implementation below; a requirement so that each encoding
    /// gets its own specialised copy of the loop).
    static func dotRow(_ w: UnsafePointer<UInt16>, _ x: UnsafePointer<Float>, count: Int) -> Float
}

extension HalfEncoding {
    // Hot loop of the bf16/f16 decode path: widen 16 weights at a time to fp32 and multiply with x.
    @inline(__always)
    public static func dotRow(_ w: UnsafePointer<UInt16>, _ x: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        var c = 0
        while c + 16 <= count {
            let h = UnsafeRawPointer(w + c).loadUnaligned(as: SIMD16<UInt16>.self)
            acc += decode16(h) * UnsafeRawPointer(x + c).loadUnaligned(as: SIMD16<Float>.self)
            c += 16
        }
        var sum = horizontalSum(acc)
        while c < count { sum += decode(w[c]) * x[c]; c += 1 }
        return sum
    }
}

/// bfloat16: the top 16 bits of an fp32, rounded to nearest even (ggml-impl.h `ggml_compute_fp32_to_bf16`).
public enum BF16: HalfEncoding {
    public static var precision: Precision { .bf16 }
    public static var largestFinite: Float { Float(bitPattern: 0x7F7F_0000) }
    @inline(__always) public static func encode(_ x: Float) -> UInt16 { bfloat16Bits(x) }
    @inline(__always) public static func decode(_ h: UInt16) -> Float { floatFromBFloat16Bits(h) }
    @inline(__always) public static func decode16(_ h: SIMD16<UInt16>) -> SIMD16<Float> { floatsFromBFloat16Bits(h) }
}

/// IEEE 754 binary16, as numpy's `astype(np.float16)` and torch's `.half()`.
public enum F16: HalfEncoding {
    public static var precision: Precision { .f16 }
    public static var largestFinite: Float { 65504 }
    @inline(__always) public static func encode(_ x: Float) -> UInt16 { halfBits(x) }
    @inline(__always) public static func decode(_ h: UInt16) -> Float { floatFromHalfBits(h) }
    @inline(__always) public static func decode16(_ h: SIMD16<UInt16>) -> SIMD16<Float> { floatsFromHalfBits(h) }
}

/// Weights `[rows, cols]` stored as bfloat16.
public typealias BF16Matrix = HalfMatrix<BF16>
/// Weights `[rows, cols]` stored as IEEE fp16.
public typealias F16Matrix = HalfMatrix<F16>

/// A weight `[rows, cols]` stored row-major in a 16-bit encoding (2 bytes per weight), applied by
/// widening 16 values at a time to fp32 inside the dot product.
public struct HalfMatrix<Encoding: HalfEncoding>: LinearOperator {
    public let rows: Int
    public let cols: Int
    /// `rows · cols` 16-bit patterns, row-major.
    public let storage: [UInt16]

    /// Rounds `weight` to the encoding (nearest even).
    /// - Throws: `QuantizeError.nonFiniteWeight` for NaN/Inf, `.overflow` for a value that would round to Inf.
    public init(quantizing weight: Matrix, tensorName: String) throws {
        try requireFinite(weight, tensorName: tensorName)
        let encoded = weight.values.map(Encoding.encode)
        let infinity = Encoding.encode(.infinity)
        if let index = encoded.firstIndex(where: { $0 & 0x7FFF == infinity }) {
            throw QuantizeError.overflow(tensor: tensorName, format: Encoding.precision.rawValue,
                                         row: index / weight.cols, column: index % weight.cols,
                                         value: weight.values[index], limit: Encoding.largestFinite)
        }
        self.init(rows: weight.rows, cols: weight.cols, storage: encoded)
    }

    /// Wraps already-encoded patterns (e.g. a bf16 tensor read from safetensors). Precondition:
    /// `storage.count == rows · cols`.
    public init(rows: Int, cols: Int, storage: [UInt16]) {
        precondition(storage.count == rows * cols, "HalfMatrix: \(storage.count) values for [\(rows), \(cols)]")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    public var outFeatures: Int { rows }
    public var inFeatures: Int { cols }
    public var byteCount: Int { storage.count * 2 }
    public var formatName: String { Encoding.precision.rawValue }

    public func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        forEachRowRange(rows: rows, cols: cols) { range in dotRows(range, x, into: y) }
    }

    public func apply(batch n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        applyBatch(rows: rows, cols: cols, n: n, x, into: y, matvec: apply, decodeRows: decodeRows)
    }

    public func dequantized() -> Matrix { decodeAll(rows: rows, cols: cols, decodeRows: decodeRows) }

    /// `y[r] = W[r, :] · x` for `r` in `range`.
    func dotRows(_ range: Range<Int>, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        storage.withUnsafeBufferPointer { s in
            for r in range { y[r] = Encoding.dotRow(s.baseAddress! + r * cols, x, count: cols) }
        }
    }

    /// Rows `range` decoded to fp32 `[range.count, cols]` at `out` (also an embedding-row lookup).
    public func decodeRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        storage.withUnsafeBufferPointer { s in
            for i in 0..<(range.count * cols) { out[i] = Encoding.decode(s[range.lowerBound * cols + i]) }
        }
    }
}
