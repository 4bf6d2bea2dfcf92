import Foundation

// Element-wise and reduction kernels of the Mixtral forward pass, written plainly over buffers.
// Reductions use SIMD accumulators: Swift does not vectorise float reductions on its own.

/// Dot product of two `[n]` vectors with 16-wide SIMD accumulators.
@inline(__always)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD16<Float>(repeating: 0)
    var i = 0
    while i + 16 <= n {
        let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
        let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
        acc += va * vb   // (addProduct compiles to scalar fmaf calls without FMA in the target)
        i += 16
    }
    var s = acc.sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// RMSNorm as in transformers' `MixtralRMSNorm`: `y = w ⊙ x / sqrt(mean(x²) + eps)`, computed in fp32.
/// - Parameters: `x`, `y`: `[n]` (may alias); `weight`: `[n]`.
public func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, eps: Float, n: Int,
                    into y: UnsafeMutablePointer<Float>) {
    let meanSquare = dot(x, x, n) / Float(n)
    let scale = 1 / (meanSquare + eps).squareRoot()
    for i in 0..<n { y[i] = weight[i] * (x[i] * scale) }
}

/// Numerically stable softmax in place over `[n]` values (max subtracted first).
public func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    var m = -Float.infinity
    for i in 0..<n where x[i] > m { m = x[i] }
    var sum: Float = 0
    for i in 0..<n { x[i] = expf(x[i] - m); sum += x[i] }
    let inv = 1 / sum
    for i in 0..<n { x[i] *= inv }
}

/// Softmax of an array (convenience for the router and sampling).
public func softmax(_ x: [Float]) -> [Float] {
    var y = x
    y.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, $0.count) }
    return y
}

/// SiLU (swish): `x · σ(x) = x / (1 + e^(−x))`, as `torch.nn.functional.silu`.
@inline(__always)
public func silu(_ x: Float) -> Float { x / (1 + expf(-x)) }

/// `gate[i] = silu(gate[i]) · up[i]` for `[n]` vectors — the expert's hidden activation.
public func siluMultiply(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
    for i in 0..<n { gate[i] = silu(gate[i]) * up[i] }
}

/// `y[i] += a · x[i]` for `[n]` vectors.
@inline(__always)
public func addScaled(_ x: UnsafePointer<Float>, _ a: Float, into y: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { y[i] += a * x[i] }
}
