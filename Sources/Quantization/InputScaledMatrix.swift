import Tensors

/// A weight applied to scaled inputs: `y = inner · (x ⊙ inputScale)`, with `inner: [out, in]` and
/// `inputScale: [in]`. AWQ's form (`awq4`): `inner` holds the quantized `W·diag(s)` and `inputScale` is `1/s`;
/// a production kernel folds `1/s` into the operation that produces `x`, here it is one extra multiply per
/// input value.
public struct InputScaledMatrix: LinearOperator {
    public let inner: any LinearOperator
    /// `[in]`.
    public let inputScale: [Float]

    public init(inner: any LinearOperator, inputScale: [Float]) {
        precondition(inputScale.count == inner.inFeatures, "InputScaledMatrix: \(inputScale.count) scales for \(inner.inFeatures) inputs")
        self.inner = inner
        self.inputScale = inputScale
    }

    public var outFeatures: Int { inner.outFeatures }
    public var inFeatures: Int { inner.inFeatures }
    /// The inner weight and one fp32 scale per input column.
    public var byteCount: Int { inner.byteCount + 4 * inputScale.count }
    public var formatName: String { Precision.awq4.rawValue }

    public func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let scaled = (0..<inFeatures).map { x[$0] * inputScale[$0] }
        scaled.withUnsafeBufferPointer { inner.apply($0.baseAddress!, into: y) }
    }

    public func apply(batch n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let cols = inFeatures
        let scaled = (0..<(n * cols)).map { x[$0] * inputScale[$0 % cols] }
        scaled.withUnsafeBufferPointer { inner.apply(batch: n, $0.baseAddress!, into: y) }
    }

    /// Rows of the effective weight `inner · diag(inputScale)`.
    public func decodeRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        inner.decodeRows(range, into: out)
        for i in 0..<(range.count * inFeatures) { out[i] *= inputScale[i % inFeatures] }
    }

    public func dequantized() -> Matrix {
        let inner = inner.dequantized()
        return Matrix(rows: inner.rows, cols: inner.cols,
                      values: inner.values.enumerated().map { $0.element * inputScale[$0.offset % inner.cols] })
    }
}
