import Foundation
import Tensors

/// Conveniences the tests draw their fixed random inputs with, on the engine's own `SplitMix64`.
extension SplitMix64 {
    /// `k` distinct values below `n` (k ≤ n), in the order drawn.
    public mutating func distinct(_ k: Int, below n: Int) -> [Int] {
        var chosen: [Int] = []
        while chosen.count < k {
            let v = below(n)
            if !chosen.contains(v) { chosen.append(v) }
        }
        return chosen
    }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Double {
        let u = max(nextUnit(), 1e-12), v = nextUnit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}
