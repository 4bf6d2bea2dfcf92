import Foundation
import Tensors

/// How far a quantized weight is from the original, per tensor. Sums are accumulated in fp64.
///
/// With `W` the original and `Ŵ` the decoded weight over N elements:
/// `mse = Σ(W−Ŵ)²/N`; `maxAbsError = max|W−Ŵ|`; `snrDB = 10·log10(ΣW² / Σ(W−Ŵ)²)` (+∞ when exact);
/// `relativeFrobenius = ‖W−Ŵ‖_F / ‖W‖_F` (0 when exact, +∞ for a zero W decoded with error).
public struct ErrorMetrics: Sendable, Equatable {
    public let mse: Double
    public let maxAbsError: Double
    public let snrDB: Double
    public let relativeFrobenius: Double
    /// Storage bits per weight of the quantized form (scales included).
    public let bitsPerWeight: Double

    /// Compares `decoded` (same shape) with `original`.
    public init(original: Matrix, decoded: Matrix, bitsPerWeight: Double) {
        precondition(original.rows == decoded.rows && original.cols == decoded.cols,
                     "ErrorMetrics: shapes [\(original.rows), \(original.cols)] and [\(decoded.rows), \(decoded.cols)] differ")
        var signal = 0.0, noise = 0.0, largest = 0.0
        for (w, q) in zip(original.values, decoded.values) {
            let e = Double(w) - Double(q)
            signal += Double(w) * Double(w)
            noise += e * e
            largest = max(largest, abs(e))
        }
        self.mse = noise / Double(max(original.values.count, 1))
        self.maxAbsError = largest
        self.snrDB = noise == 0 ? .infinity : 10 * log10(signal / noise)
        self.relativeFrobenius = noise == 0 ? 0 : (noise / signal).squareRoot()
        self.bitsPerWeight = bitsPerWeight
    }

    /// Compares a quantized operator with the fp32 weight it was made from.
    public init(original: Matrix, quantized: any LinearOperator) {
        self.init(original: original, decoded: quantized.dequantized(), bitsPerWeight: quantized.bitsPerWeight)
    }
}

/// KL(p ‖ q) = Σ pᵢ·ln(pᵢ/qᵢ) in nats for probability vectors of equal length (e.g. next-token
/// distributions of fp32 `p` and a quantized model `q`). Terms with pᵢ = 0 contribute 0; a qᵢ = 0 where
/// pᵢ > 0 gives +∞.
public func klDivergence(p: [Float], q: [Float]) -> Double {
    precondition(p.count == q.count, "klDivergence: \(p.count) and \(q.count) probabilities")
    var sum = 0.0
    for (pi, qi) in zip(p, q) where pi > 0 {
        sum += Double(pi) * (log(Double(pi)) - log(Double(qi)))
    }
    return sum
}

/// Index of the largest value (the first on ties), e.g. the greedy next token. Precondition: non-empty.
public func argmax(_ values: [Float]) -> Int {
    precondition(!values.isEmpty, "argmax of an empty vector")
    var best = 0
    for i in values.indices where values[i] > values[best] { best = i }
    return best
}

/// Whether two distributions (or logit vectors) agree on their most likely entry (top-1 agreement).
public func top1Agrees(_ p: [Float], _ q: [Float]) -> Bool {
    argmax(p) == argmax(q)
}
