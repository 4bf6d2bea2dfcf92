import Foundation

/// Rotary position embedding tables in Hugging Face's "rotate half" convention
/// (transformers `modeling_mixtral.py`: `apply_rotary_pos_emb`, `rotate_half`,
/// `MixtralRotaryEmbedding` with the default rope type).
///
/// For head dimension `d` and pair index `i < d/2`: `inv_freq[i] = 1 / theta^(2i/d)`, angle
/// `θ = position · inv_freq[i]`; element `i` pairs with element `i + d/2`:
/// `x'[i] = x[i]·cos θ − x[i+d/2]·sin θ`, `x'[i+d/2] = x[i+d/2]·cos θ + x[i]·sin θ`.
/// transformers computes `inv_freq` and the angles in fp32; so do we, to stay bit-close.
public struct RotaryEmbedding: Sendable {
    /// Head dimension `d` (even).
    public let headDim: Int
    /// `rope_theta` from the config.
    public let theta: Double
    /// `[headDim/2]` inverse frequencies, fp32 as in transformers.
    public let inverseFrequencies: [Float]

    public init(headDim: Int, theta: Double) {
        precondition(headDim % 2 == 0, "RoPE needs an even head dimension, got \(headDim)")
        self.headDim = headDim
        self.theta = theta
        // torch: 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
        let half = headDim / 2
        self.inverseFrequencies = (0..<half).map { i in
            let exponent = Float(2 * i) / Float(headDim)
            return 1 / powf(Float(theta), exponent)
        }
    }

    /// `[headDim/2]` cosines and sines for one position, fp32 (`freqs = position · inv_freq`).
    public func table(position: Int) -> (cos: [Float], sin: [Float]) {
        let p = Float(position)
        let angles = inverseFrequencies.map { p * $0 }
        return (angles.map { cosf($0) }, angles.map { sinf($0) })
    }

    /// Writes the `[headDim/2]` cosines and sines of one position into caller buffers (no allocation).
    public func fill(position: Int, cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>) {
        let p = Float(position)
        for i in 0..<inverseFrequencies.count {
            let angle = p * inverseFrequencies[i]
            cos[i] = cosf(angle)
            sin[i] = sinf(angle)
        }
    }

    /// Rotates `heads` consecutive vectors of `[headDim]` in place with a precomputed table.
    public func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        let half = headDim / 2
        for h in 0..<heads {
            let v = x + h * headDim
            for i in 0..<half {
                let a = v[i], b = v[i + half]
                v[i] = a * cos[i] - b * sin[i]
                v[i + half] = b * cos[i] + a * sin[i]
            }
        }
    }
}
