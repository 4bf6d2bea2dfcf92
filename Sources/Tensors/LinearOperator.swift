/// A weight matrix `W: [outFeatures, inFeatures]` that can be applied to activations, whatever its
/// storage: dense fp32 (`Matrix`), bf16/f16, or packed quantized blocks (Q8_0, Q4_0, NF4 in the
/// Quantization module). The engine holds every projection as a `LinearOperator`, so switching precision
/// never touches the forward pass.
public protocol LinearOperator: Sendable {
    /// Output features (rows of W).
    var outFeatures: Int { get }
    /// Input features (columns of W).
    var inFeatures: Int { get }
    /// Bytes this weight occupies in memory, packed (scales and codebooks included).
    var byteCount: Int { get }
    /// Short name of the storage format, e.g. `"fp32"`, `"q4"`, `"nf4"`.
    var formatName: String { get }

    /// Matrix–vector product `y = W x` (decode path).
    /// - Parameters:
    ///   - x: `[inFeatures]` input activations.
    ///   - y: `[outFeatures]` output, overwritten.
    func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>)

    /// Matrix–matrix product `Y = X Wᵀ` for a batch of `n` rows (prefill path).
    /// - Parameters:
    ///   - x: `[n, inFeatures]` row-major input activations.
    ///   - y: `[n, outFeatures]` row-major output, overwritten.
    func apply(batch n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>)

    /// Decodes rows `range` to fp32 `[range.count, inFeatures]` at `out` — an embedding lookup when the
    /// weight is the token-embedding table `[vocab, hidden]`.
    func decodeRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>)

    /// The weight decoded back to fp32, `[outFeatures, inFeatures]` (for error measurement and charts;
    /// not used by the forward pass).
    func dequantized() -> Matrix
}

extension LinearOperator {

    /// Bits of storage per weight: `8 · byteCount / (outFeatures · inFeatures)`.
    public var bitsPerWeight: Double {
        Double(byteCount * 8) / Double(outFeatures * inFeatures)
    }

    /// Convenience `y = W x` on arrays. `x.count` must equal `inFeatures`.
    public func apply(_ x: [Float]) -> [Float] {
        precondition(x.count == inFeatures, "apply: input has \(x.count) values, weight expects \(inFeatures)")
        var y = [Float](repeating: 0, count: outFeatures)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in apply(xp.baseAddress!, into: yp.baseAddress!) }
        }
        return y
    }
}
