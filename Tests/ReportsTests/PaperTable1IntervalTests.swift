import Testing
import Foundation
@testable import Reports

/// Table 1's interval of a perplexity difference over few held-out windows (review9 F2/F9: a percentile
/// bootstrap over two windows put 0.01 and 0.03 nats per token, both above 0, into an "interval" that
/// excluded 0).
struct PaperTable1IntervalTests {
    /// Two windows of 255 tokens whose per-token log-likelihood differences are 0.01 and 0.03: R = 0.02,
    /// se = 0.01 on one degree of freedom, so R ± 12.706 · 0.01 — which contains 0 — mapped to perplexity
    /// around the baseline's exp(2).
    @Test func twoWindowsGiveTheWideTIntervalNotTheirOwnSpread() throws {
        let baseline = [2.0 * 255, 2.0 * 255]
        let nll = [baseline[0] + 0.01 * 255, baseline[1] + 0.03 * 255]
        let (low, high) = PaperTable1.pairedInterval(nll, baseline, counts: [255, 255])
        let base = exp(2.0)
        #expect(abs(try #require(low) - base * expm1(0.02 - 12.7062 * 0.01)) < 1e-3)
        #expect(abs(try #require(high) - base * expm1(0.02 + 12.7062 * 0.01)) < 1e-3)
        #expect(try #require(low) < 0)
    }

    @Test func identicalModelsHaveAZeroWidthInterval() {
        let nll = [510.0, 480, 12]
        let (low, high) = PaperTable1.pairedInterval(nll, nll, counts: [255, 255, 6])
        #expect(low == 0 && high == 0)
        let (none, _) = PaperTable1.pairedInterval([510], [500], counts: [255])
        #expect(none == nil)
    }
}
