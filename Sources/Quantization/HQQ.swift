import Foundation
import Tensors

/// HQQ, Half-Quadratic Quantization (Badri & Shaji 2023, "Half-Quadratic Quantization of Large Machine
/// Learning Models", https://mobiusml.github.io/hqq_blog/), as the `hqq` library 0.2.8 implements it
/// (`hqq/core/quantize.py` `Quantizer.quantize`, `hqq/core/optimize.py`).
///
/// Asymmetric and calibration-free: each group of `groupSize` consecutive weights along a row (the input
/// axis; hqq's `axis=1`, the default of its `BaseQuantizeConfig`) gets a scale and a zero-point, and a
/// weight is stored as the code `q = clamp(round(w·s + z), 0, 2^bits − 1)` (hqq keeps `s`, levels per
/// unit, while it optimises and stores its reciprocal). Decoding is `(q − z) · (1/s)`.
///
/// Where round-to-nearest stops at the min/max scale and zero, HQQ then moves the zero-points to fit the
/// weights better in a sparsity-promoting norm: it minimises `‖W − dequantize(quantize(W))‖_p^p` with
/// `p = 0.7 < 1`, which lets a few outliers keep a large error so that the bulk of the group fits well.
/// The half-quadratic splitting adds an auxiliary error `W_e` and alternates two closed-form steps:
/// 1. `W_e = shrink_p(W − W_r, β)`, the proximal step of the lp-norm
///    (`sign(x) · max(0, |x| − |x|^(p−1)/β)`: small errors are set to 0, large ones are kept);
/// 2. `z = mean_group(W_q − (W − W_e) · s)`, the least-squares zero-point given the codes.
/// The scale stays at its min/max value. Iterations stop after 20, or as soon as the mean absolute
/// error of the whole tensor fails to decrease (early stop), keeping the zeros of that last step.
///
/// Differences from the library, all in the last float bits: hqq sums with torch's fp32 cascade sums
/// (the group means and the tensor's mean error; here fp64 sums rounded once) and raises to the power
/// p − 1 with SLEEF's `powf` (≤ 1 ulp; here glibc's). The fixture tests measure how close that stays.
public enum HQQ {
    /// hqq 0.2.8 `optimize_weights_proximal_legacy` defaults (`opt_params`): `lp_norm` 0.7.
    public static let lpNorm = 0.7
    /// `beta` 10. The default optimizer never multiplies it by its `kappa` (1.01; only
    /// `optimize_weights_proximal_v2` does), so the shrinkage threshold is `1/β = 0.1` in every iteration.
    public static let beta: Double = 10
    /// `iters` 20: the most zero-point updates before the early stop.
    public static let iterations = 20
    /// hqq clamps `s` at 2·10⁴ ("to avoid half-precision problems").
    static let largestScale: Float = 2e4
    /// A group whose max − min is at most 1e-4 gets `s = 1` (hqq 0.2.8: "avoid small denom values").
    static let smallestRange = Float(1e-4)

    /// How a tensor is stored in HQQ: code width, group size, and whether the scales and zero-points are
    /// quantized to 8 bits.
    public struct Settings: Sendable, Equatable {
        /// Bits per code: 2, 3 or 4.
        public let bits: Int
        /// Weights per group along a row; a multiple of 8 (hqq's `BaseQuantizeConfig` asserts it).
        public let groupSize: Int
        /// Scales quantized to 8 bits in groups of this many (zero-points to 8 bits over the whole
        /// tensor), or nil for fp16 scales and zero-points.
        public let scaleGroupSize: Int?

        public init(bits: Int, groupSize: Int, scaleGroupSize: Int?) {
            precondition([2, 3, 4].contains(bits) && groupSize % 8 == 0 && groupSize > 0,
                         "HQQ settings: \(bits) bits, group size \(groupSize)")
            self.bits = bits
            self.groupSize = groupSize
            self.scaleGroupSize = scaleGroupSize
        }

        /// Eliseev & Mazur 2023 (arXiv:2312.17238, §4.1 and their mixtral-offloading quant configs):
        /// 4-bit groups of 64 with scales quantized in groups of 256; 3-bit groups of 64 and 2-bit groups
        /// of 16 with scales in groups of 128; zero-points quantized too.
        public static func paper(bits: Int) -> Settings {
            Settings(bits: bits, groupSize: bits == 2 ? 16 : 64, scaleGroupSize: bits == 4 ? 256 : 128)
        }

        /// The paper's code width and group size with fp16 scales and zero-points (hqq 0.2.8's default).
        public static func halfMetadata(bits: Int) -> Settings {
            Settings(bits: bits, groupSize: bits == 2 ? 16 : 64, scaleGroupSize: nil)
        }

        /// Storage bits per weight of a large tensor: the codes, then per group 8 + 8 bits (quantized) or
        /// 16 + 16 bits (fp16) of scale and zero-point, plus an fp32 scale and zero per group of scales;
        /// the zero-points' own fp32 scale and zero (8 bytes per tensor) are left out.
        public var nominalBitsPerWeight: Double {
            let g = Double(groupSize)
            guard let m = scaleGroupSize else { return Double(bits) + 32 / g }
            return Double(bits) + 16 / g + 64 / (g * Double(m))
        }
    }

    /// Codes, scales and zero-points of groups of consecutive values.
    public struct Groups: Sendable, Equatable {
        /// One code per value, `0 ... 2^bits − 1`, not packed.
        public var codes: [UInt8]
        /// One per group: the dequantization scale `1/s` (hqq's stored `meta["scale"]`).
        public var scales: [Float]
        /// One per group: the zero-point `z` (hqq's `meta["zero"]`), in code units.
        public var zeros: [Float]
        /// Zero-point updates made before the early stop (0 without the optimizer).
        public var iterations: Int
    }

    /// Quantizes `values` in groups of `groupSize` consecutive values to `bits`-bit codes with the
    /// optimizer, as `Quantizer.quantize(W, nbits=bits, group_size=groupSize, optimize=True,
    /// round_zero=(bits == 4), axis=1, device="cpu")` (`BaseQuantizeConfig(nbits, group_size)`'s weight
    /// parameters). The early stop looks at the error of all of `values` together, as hqq does for one
    /// weight tensor: quantize one tensor per call. `optimize: false` keeps the min/max scale and zero
    /// (hqq's `optimize=False`: plain round-to-nearest).
    /// Preconditions: finite values, `values.count` a multiple of `groupSize`, bits in 1...8.
    public static func quantize(_ values: [Float], bits: Int, groupSize: Int, optimize: Bool = true) -> Groups {
        precondition(values.count % groupSize == 0, "HQQ: \(values.count) values are not whole groups of \(groupSize)")
        let levels = Float((1 << bits) - 1)
        let groupCount = values.count / groupSize
        var scales = [Float](repeating: 0, count: groupCount)   // s, levels per unit, while optimising
        var zeros = [Float](repeating: 0, count: groupCount)
        var errorSums = [Double](repeating: 0, count: groupCount)
        var codes = [UInt8](repeating: 0, count: values.count)
        var updates = 0
        values.withUnsafeBufferPointer { w in
            scales.withUnsafeMutableBufferPointer { s in
                zeros.withUnsafeMutableBufferPointer { z in
                    errorSums.withUnsafeMutableBufferPointer { e in
                        let x = w.baseAddress!, scale = s.baseAddress!, zero = z.baseAddress!, errors = e.baseAddress!
                        forEachRowRange(rows: groupCount, cols: groupSize) { range in
                            for g in range {
                                (scale[g], zero[g]) = initialScaleAndZero(x + g * groupSize, count: groupSize,
                                                                          levels: levels, roundZero: bits == 4)
                            }
                        }
                        var bestError = Float.infinity
                        for _ in 0..<(optimize ? iterations : 0) {
                            updates += 1
                            forEachRowRange(rows: groupCount, cols: groupSize) { range in
                                for g in range {
                                    errors[g] = updateZero(x + g * groupSize, count: groupSize, scale: scale[g],
                                                           zero: &zero[g], levels: levels)
                                }
                            }
                            // hqq: current_error = |W_f − W_r|.mean(), measured before this step's update;
                            // stop when it does not decrease (the updated zeros are kept)
                            let error = Float(e.reduce(0, +) / Double(values.count))
                            if error < bestError { bestError = error } else { break }
                        }
                    }
                }
                codes.withUnsafeMutableBufferPointer { c in
                    for g in 0..<groupCount {
                        for j in 0..<groupSize {
                            let i = g * groupSize + j
                            c[i] = UInt8(code(w[i], scale: s[g], zero: zeros[g], levels: levels))
                        }
                    }
                }
            }
        }
        // hqq stores the reciprocal, 1.0 / scale (torch: reciprocal() · 1.0)
        return Groups(codes: codes, scales: scales.map { 1 / $0 }, zeros: zeros, iterations: updates)
    }

    /// `s = (1/(max − min)) · levels` (torch evaluates `levels / t` as `t.reciprocal() · levels`), 1 for
    /// a range of at most 1e-4, at most 2·10⁴; `z = −min · s`, rounded to an integer for 4 bits
    /// (`round_zero`).
    static func initialScaleAndZero(_ x: UnsafePointer<Float>, count: Int, levels: Float,
                                    roundZero: Bool) -> (scale: Float, zero: Float) {
        var low = x[0], high = x[0]
        for j in 1..<count { low = min(low, x[j]); high = max(high, x[j]) }
        let range = high - low
        var scale = abs(range) <= smallestRange ? 1 : (1 / range) * levels
        scale = min(scale, largestScale)
        var zero = -low * scale
        if roundZero { zero = zero.rounded(.toNearestOrEven) }
        return (scale, zero)
    }

    /// The code of `w`: `clamp(round(w·s + z), 0, levels)`, the product and the sum each rounded to fp32
    /// (torch's separate `mul` and `add`), ties to even (`torch.round`).
    @inline(__always)
    static func code(_ w: Float, scale: Float, zero: Float, levels: Float) -> Float {
        let product = w * scale
        return min(max((product + zero).rounded(.toNearestOrEven), 0), levels)
    }

    /// One iteration of `optimize_weights_proximal_legacy_step` for one group: codes and reconstruction
    /// `W_r = (W_q − z)/s` with the current zero, the shrunk error `W_e`, then the new zero
    /// `mean(W_q − (W − W_e)·s)`. Returns `Σ|W − W_r|` over the group (before the update).
    static func updateZero(_ x: UnsafePointer<Float>, count: Int, scale: Float, zero: inout Float,
                           levels: Float) -> Double {
        // torch casts the Python scalars to fp32: 1/β = 0.1, p − 1 = 0.7 − 1 computed in double
        let threshold = Float(1 / beta)
        let exponent = Float(lpNorm - 1)
        var errorSum = 0.0
        var zeroSum = 0.0
        for j in 0..<count {
            let w = x[j]
            let q = code(w, scale: scale, zero: zero, levels: levels)
            let reconstructed = (q - zero) / scale
            let error = w - reconstructed
            errorSum += Double(abs(error))
            // shrink_lp_op: |x| − (1/β)·|x|^(p−1), clamped at 0, with the sign of x. It is 0 for every
            // |x| below 0.1^(1/1.3) ≈ 0.17 (then |x|^1.3 < 1/β); below 0.15 the difference is under −0.02,
            // far from any rounding, so the power (most of the optimizer's time) is skipped there.
            let magnitude = abs(error)
            let shrunk = magnitude < 0.15 ? 0 : max(magnitude - threshold * pow(magnitude, exponent), 0)
            let auxiliary = error > 0 ? shrunk : (error < 0 ? -shrunk : 0)
            let target = (w - auxiliary) * scale
            zeroSum += Double(q - target)
        }
        zero = Float(zeroSum) / Float(count)   // torch: mean = sum, then divided by the count
        return errorSum
    }
}
