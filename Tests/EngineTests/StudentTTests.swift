import Testing
import Foundation
@testable import Engine

/// Two-sided critical values of Student's t from the published tables (NIST/SEMATECH e-Handbook of
/// Statistical Methods, 1.3.6.7.2, "Critical values of the Student's t distribution", upper-tail 0.025
/// and 0.005 columns), to their three decimals.
@Test(arguments: [(1, 0.95, 12.706), (2, 0.95, 4.303), (3, 0.95, 3.182), (5, 0.95, 2.571), (8, 0.95, 2.306),
                  (10, 0.95, 2.228), (16, 0.95, 2.120), (30, 0.95, 2.042), (100, 0.95, 1.984),
                  (1, 0.99, 63.657), (10, 0.99, 3.169), (100, 0.99, 2.626)])
func criticalValuesMatchThePublishedTable(nu: Int, confidence: Double, published: Double) {
    let t = StudentT.criticalValue(confidence: confidence, degreesOfFreedom: nu)
    #expect(abs(t - published) < 5e-4, "ν = \(nu): \(t)")
    #expect(abs(StudentT.centralProbability(t, degreesOfFreedom: nu) - confidence) < 1e-9)
}

/// With one token per unit the ratio is the mean and the interval the textbook one-sample t interval:
/// 1…5 has mean 3, s = √2.5, so 3 ± 2.776 · √2.5/√5.
@Test func equalDenominatorsGiveTheOneSampleTInterval() throws {
    let e = try #require(StudentT.ratioInterval(numerators: [1, 2, 3, 4, 5], denominators: [1, 1, 1, 1, 1]))
    let half = StudentT.criticalValue(confidence: 0.95, degreesOfFreedom: 4) * (2.5 / 5).squareRoot()
    #expect(e.value == 3)
    #expect(abs(e.interval.low - (3 - half)) < 1e-12 && abs(e.interval.high - (3 + half)) < 1e-12)
    #expect(abs(half - 1.963) < 1e-3)
}

/// Unequal units weigh by their size: R = 6/4; residuals ±0.5; se = √(2 · 0.5) / 4 = 0.25 on 1 degree of freedom.
@Test func unequalDenominatorsUseTheRatioEstimatesVariance() throws {
    let e = try #require(StudentT.ratioInterval(numerators: [2, 4], denominators: [1, 3]))
    #expect(e.value == 1.5)
    #expect(abs(e.interval.high - e.value - 12.706 * 0.25) < 1e-3)
    #expect(StudentT.ratioInterval(numerators: [2], denominators: [1]) == nil)
}
