import Testing
@testable import Charts

/// A line chart's axes reach a little beyond its data (`LineChart.dataMargin`, `NumericScale.linear`'s
/// margin): markers at the extremes — cache sizes 1 and 8, a hit rate of 1 — sit inside the plot, not on
/// its edges, and no tick stands for a value outside the data (no cache size 0 or 9, no hit rate -0.2).
struct AxisMarginTests {
    @Test func aMarginExtendsTheRangeButNotTheTicks() {
        let sizes = NumericScale.linear(lower: 1, upper: 8, maxTickCount: 9, minimumStep: 1, margin: 0.05)
        #expect(abs(sizes.lower - 0.65) < 1e-12 && abs(sizes.upper - 8.35) < 1e-12)
        #expect(sizes.ticks == [1, 2, 3, 4, 5, 6, 7, 8])
        let hitRate = NumericScale.linear(lower: 0, upper: 1, maxTickCount: 6, margin: 0.05)
        #expect(abs(hitRate.lower + 0.05) < 1e-12 && abs(hitRate.upper - 1.05) < 1e-12)
        #expect(hitRate.labels == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        // without a margin the axis is widened to whole steps and ends at the data
        #expect(NumericScale.linear(lower: 1, upper: 8, maxTickCount: 9, minimumStep: 1).ticks.first == 1)
    }

    /// Fewer than two ticks inside the margined range (a short axis with a coarse step): widened as without.
    @Test func aShortAxisKeepsTwoTicks() {
        let scale = NumericScale.linear(lower: 0.65, upper: 8.35, maxTickCount: 2, margin: 0.05)
        #expect(scale.ticks.count >= 2)
    }

    @Test func pointsAtTheExtremesLieInsideThePlot() throws {
        let canvas = try ChartCanvas(width: 800, height: 500)
        let frame = canvas.layoutPlot(in: canvas.bounds,
                                      x: AxisSpec(label: "slots", kind: .numeric(lower: 1, upper: 8, logarithmic: false, margin: 0.05), minimumTickStep: 1),
                                      y: AxisSpec(label: "hit rate", kind: .numeric(lower: 0, upper: 1, logarithmic: false, margin: 0.05)))
        let (left, right, top, bottom) = try (#require(frame.px(1)), #require(frame.px(8)), #require(frame.py(1)), #require(frame.py(0)))
        let inset = 0.04 * frame.plot.width, rise = 0.04 * frame.plot.height
        #expect(left >= frame.plot.minX + inset && right <= frame.plot.maxX - inset, "\(left) \(right) in \(frame.plot)")
        #expect(top >= frame.plot.minY + rise && bottom <= frame.plot.maxY - rise, "\(top) \(bottom) in \(frame.plot)")
    }
}
