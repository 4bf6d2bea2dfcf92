import Foundation

/// Student's t distribution (Student, "The probable error of a mean", Biometrika 6, 1908) and the t interval
/// of a ratio of sums over independent units — what an interval over a handful of held-out windows needs:
/// the percentile bootstrap (`Bootstrap`) is too narrow with few units (it has the sample's spread without
/// the n − 1 correction, and normal-like tails where t's are wider).
public enum StudentT {
    /// `P(|T| ≤ t)` for T with `degreesOfFreedom` ν ≥ 1: the closed forms of Abramowitz & Stegun, *Handbook
    /// of Mathematical Functions* (1964), 26.7.3 (ν odd) and 26.7.4 (ν even), with θ = atan(t / √ν):
    /// ν = 1: 2θ/π; ν odd: (2/π)(θ + sin θ (cos θ + ⅔ cos³θ + … + (2·4⋯(ν−3))/(1·3⋯(ν−2)) cos^(ν−2) θ));
    /// ν even: sin θ (1 + ½ cos²θ + (1·3)/(2·4) cos⁴θ + … + (1·3⋯(ν−3))/(2·4⋯(ν−2)) cos^(ν−2) θ).
    public static func centralProbability(_ t: Double, degreesOfFreedom nu: Int) -> Double {
        precondition(nu >= 1, "StudentT: degrees of freedom must be at least 1")
        let theta = atan(abs(t) / Double(nu).squareRoot())
        let s = sin(theta), c = cos(theta)
        if nu % 2 == 0 {
            var term = 1.0, sum = 1.0
            for k in stride(from: 1, through: (nu - 2) / 2, by: 1) {
                term *= Double(2 * k - 1) / Double(2 * k) * c * c
                sum += term
            }
            return s * sum
        }
        guard nu > 1 else { return 2 * theta / .pi }
        var term = c, sum = c
        for k in stride(from: 1, through: (nu - 3) / 2, by: 1) {
            term *= Double(2 * k) / Double(2 * k + 1) * c * c
            sum += term
        }
        return 2 / .pi * (theta + s * sum)
    }

    /// The t with `P(|T| ≤ t) = confidence`, found by bisection on `centralProbability` (to 1e-12): 12.706
    /// for ν = 1 at 95 %, 2.306 for ν = 8, 1.984 for ν = 100 (tending to the normal's 1.960).
    public static func criticalValue(confidence: Double, degreesOfFreedom nu: Int) -> Double {
        precondition(confidence > 0 && confidence < 1, "StudentT: confidence must lie in (0, 1)")
        var low = 0.0, high = 1.0
        while centralProbability(high, degreesOfFreedom: nu) < confidence { low = high; high *= 2 }
        while high - low > 1e-12 * high {
            let middle = (low + high) / 2
            if centralProbability(middle, degreesOfFreedom: nu) < confidence { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }

    /// `R = Σ numerators / Σ denominators` over m independent units (held-out windows: a window's summed
    /// log-likelihood difference over its token count) with its t interval on m − 1 degrees of freedom:
    /// `R ± t · se`, `se² = m/(m − 1) · Σ (xᵢ − R nᵢ)² / (Σ nᵢ)²` — the linearised variance of a ratio
    /// estimate (Cochran, *Sampling Techniques*, 3rd ed., 1977, ch. 6), which for equal nᵢ is the paired
    /// t interval of the per-unit means, `s/√m`. It assumes the units independent and their values
    /// roughly normal; it says nothing about units unlike these (another text).
    /// - Returns: nil with fewer than two units or a non-positive `Σ denominators`.
    public static func ratioInterval(numerators: [Double], denominators: [Double], confidence: Double = 0.95) -> Estimate? {
        precondition(numerators.count == denominators.count, "StudentT.ratioInterval: one denominator per numerator")
        let m = numerators.count
        let total = denominators.reduce(0, +)
        guard m >= 2, total > 0 else { return nil }
        let ratio = numerators.reduce(0, +) / total
        let squares = zip(numerators, denominators).reduce(0.0) { sum, unit in
            let residual = unit.0 - ratio * unit.1
            return sum + residual * residual
        }
        let standardError = (Double(m) / Double(m - 1) * squares).squareRoot() / total
        let half = criticalValue(confidence: confidence, degreesOfFreedom: m - 1) * standardError
        return Estimate(value: ratio, interval: Interval(low: ratio - half, high: ratio + half))
    }
}
