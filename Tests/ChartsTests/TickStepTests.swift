import Testing
@testable import Charts

/// A linear axis of counts (layers) has no ticks between two counts.
struct TickStepTests {
    @Test func aMinimumStepKeepsTicksWhole() {
        let scale = NumericScale.linear(lower: 0, upper: 3, maxTickCount: 8, minimumStep: 1)
        #expect(scale.ticks == [0, 1, 2, 3])
        #expect(scale.labels == ["0", "1", "2", "3"])
    }

    @Test func withoutItTicksMayFallBetween() {
        #expect(NumericScale.linear(lower: 0, upper: 3, maxTickCount: 8).ticks.contains(0.5))
    }

    @Test func aLongRangeKeepsItsNiceStep() {
        #expect(NumericScale.linear(lower: 0, upper: 40, maxTickCount: 5, minimumStep: 1).ticks == [0, 10, 20, 30, 40])
    }
}
