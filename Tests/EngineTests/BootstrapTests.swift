import Testing
@testable import Engine

@Test func bootstrapIntervalOfAMeanIsAboutTwoStandardErrorsWide() {
    // 400 values alternating 0 and 1: mean 0.5, standard error 0.5/√400 = 0.025, so a 95 % interval of
    // about ±1.96 · 0.025 ≈ ±0.049.
    let values = (0..<400).map { Double($0 % 2) }
    let e = Bootstrap.mean(values)
    #expect(e.value == 0.5)
    #expect(e.interval.contains(0.5))
    #expect(abs((e.interval.high - e.interval.low) / 2 - 0.049) < 0.01)
}

@Test func bootstrapIsDeterministic() {
    let values = (0..<50).map { Double(($0 * 37) % 11) }
    #expect(Bootstrap.mean(values) == Bootstrap.mean(values))
}

@Test func aPairedDifferenceOfIdenticalSamplesIsExactlyZero() {
    let a = (0..<64).map { Double($0 % 7) }
    let e = Bootstrap.estimate(units: a.count) { counts in
        zip(a, counts).reduce(0) { $0 + $1.0 * Double($1.1) } - zip(a, counts).reduce(0) { $0 + $1.0 * Double($1.1) }
    }
    #expect(e.interval == Interval(low: 0, high: 0))
    #expect(e.includesZero)
}

@Test func quantilesInterpolateBetweenOrderStatistics() {
    #expect(Bootstrap.quantile([0, 10], 0.25) == 2.5)
    #expect(Bootstrap.quantile([1, 2, 3, 4, 5], 0.5) == 3)
}

@Test func aNegativeValueThatRoundsToZeroPrintsWithoutAMinusSign() {
    #expect(formatNumber("%.4f", -0.00001) == "0.0000")
    #expect(formatNumber("%+.4f", -0.00001) == "+0.0000")
    #expect(formatNumber("%.4f", -0.0001) == "-0.0001")
    #expect(formatNumber("%.1f", -.infinity) == "-inf")
    #expect(Interval(low: -0.00002, high: 0.003).formatted("%.4f") == "[0.0000, 0.0030]")
    #expect(Estimate(value: -0.0, interval: Interval(low: -0.4, high: 0.4)).formatted("%+.3f") == "+0.000 [-0.400, +0.400]")
}
