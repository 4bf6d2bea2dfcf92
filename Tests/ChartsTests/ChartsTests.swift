@testable import Charts
import Foundation
import Testing
import TestSupport

private func example(_ name: String) -> any Chart { ExampleCharts.chart(named: name) }

@Test func defaultSizeIs1600By1000AndCustomSizesAreHonoured() throws {
    let png = try renderPNGData(ExampleCharts.weightHistogram())
    #expect(PNGChunks.size(png)! == (1600, 1000))
    let small = try renderPNGData(ExampleCharts.lineChart(), width: 640, height: 400)
    #expect(PNGChunks.size(small)! == (640, 400))
    let decoded = try RGBAImage(png: small)
    #expect(decoded.width == 640 && decoded.height == 400 && decoded.pixels.count == 640 * 400 * 4)
}

@Test func metadataIsWrittenAsTextChunksWithoutTimestamps() throws {
    let png = try renderPNGData(ExampleCharts.memoryPlan())
    let texts = PNGChunks.texts(png)
    let metadata = ExampleCharts.memoryPlan().metadata
    #expect(texts["Title"]?.text == metadata.title)
    #expect(texts["Description"]?.text == metadata.description)
    #expect(texts["Software"]?.text == "mixtral-lab")
    #expect(texts["Source"]?.text == metadata.source)
    #expect(texts["Command"]?.text == metadata.command)
    #expect(texts["Model"]?.text == metadata.model)
    #expect(texts["Precision"]?.text == metadata.precision)
    #expect(texts.values.allSatisfy { $0.type == "tEXt" })
    #expect(!PNGChunks.read(png).contains { $0.type == "tIME" })
}

@Test func optionalMetadataIsOmittedAndNonLatin1TextGoesToITXt() throws {
    let chart = LineChart(metadata: PNGMetadata(title: "Fehler ‖Ŵ−W‖ pro Schicht", description: "ü", source: "test"),
                          series: [LineSeries(name: "q4_0", x: [0, 1], y: [1, 2])], xLabel: "layer", yLabel: "error")
    let texts = PNGChunks.texts(try renderPNGData(chart, width: 400, height: 250))
    #expect(Set(texts.keys) == ["Title", "Description", "Software", "Source"])
    #expect(texts["Title"]! == ("iTXt", "Fehler ‖Ŵ−W‖ pro Schicht"))
    #expect(texts["Description"]! == ("tEXt", "ü"))
}

@Test(arguments: ExampleCharts.names)
func sameChartGivesSameBytes(name: String) throws {
    let first = try renderPNGData(example(name), width: 800, height: 500)
    let second = try renderPNGData(example(name), width: 800, height: 500)
    #expect(first == second)
}

/// Every chart kind with empty input and with NaN-only input.
private func noDataCharts() -> [(label: String, chart: any Chart)] {
    let m = PNGMetadata(title: "nothing to show", description: "", source: "test")
    return [
        ("weights empty", WeightHistogramChart(metadata: m, weights: [])),
        ("weights NaN", WeightHistogramChart(metadata: m, weights: [.nan, .infinity], levelSets: [LevelSet(name: "q", levels: [.nan])])),
        ("errors empty", ErrorHistogramChart(metadata: m, series: [])),
        ("errors NaN", ErrorHistogramChart(metadata: m, series: [ErrorSeries(name: "q4_0", errors: [.nan])], logScale: true)),
        ("bars empty", GroupedBarChart(metadata: m, categories: [], series: [], xLabel: "x", yLabel: "y")),
        ("bars NaN", GroupedBarChart(metadata: m, categories: ["a"], series: [BarSeries(name: "s", values: [.nan])], xLabel: "x", yLabel: "y")),
        ("lines empty", LineChart(metadata: m, series: [], xLabel: "x", yLabel: "y")),
        ("lines NaN", LineChart(metadata: m, series: [LineSeries(name: "s", x: [.nan, 1], y: [1, .nan])], xLabel: "x", yLabel: "y", logY: true)),
        ("heatmap empty", RoutingHeatmap(metadata: m, rowLabels: [], tokens: [], cells: .categorical(ids: [], names: []))),
        ("heatmap NaN", RoutingHeatmap(metadata: m, rowLabels: ["e0"], tokens: ["a"], cells: .continuous(values: [[.nan]], label: "w"))),
        ("timeline empty", TransferTimeline(metadata: m, events: [])),
        ("timeline NaN", TransferTimeline(metadata: m, events: [TimelineEvent(token: 0, layer: 0, kind: .compute,
                                                                            startMicroseconds: .nan, durationMicroseconds: 5)])),
        ("memory empty", MemoryPlanChart(metadata: m, mixes: [], tensorClasses: [])),
        ("memory NaN", MemoryPlanChart(metadata: m, mixes: ["fp32"], tensorClasses: [BarSeries(name: "x", values: [.nan])],
                                       limits: [MemoryLimit(name: "RAM", bytes: .nan)])),
    ]
}

@Test func emptyOrNaNDataDrawsNoDataChart() throws {
    let m = PNGMetadata(title: "nothing to show", description: "", source: "test")
    let reference = try renderImage(WeightHistogramChart(metadata: m, weights: []), width: 800, height: 500)
    for (label, chart) in noDataCharts() {
        let image = try renderImage(chart, width: 800, height: 500)
        // The title and "No data" (above the middle) match the reference; the reason line below differs by kind.
        let top = 0..<(245 * 800 * 4)
        #expect(image.pixels[top] == reference.pixels[top], "\(label): differs from the No data chart")
        let dark = stride(from: 200 * 800 * 4, to: 250 * 800 * 4, by: 4).filter { image.pixels[$0] < 128 }.count
        #expect(dark > 200, "\(label): no \"No data\" text found")
    }
}

@Test func writingRefusesToOverwriteUnlessAsked() throws {
    try withTemporaryDirectory("charts") { directory in
        let url = directory.appendingPathComponent("hit-rate.png")
        let chart = ExampleCharts.lineChart()
        try writePNG(chart, to: url, width: 400, height: 250)
        let firstBytes = try Data(contentsOf: url)
        #expect(throws: ChartError.fileExists(path: url.path)) {
            try writePNG(chart, to: url, width: 500, height: 300)
        }
        #expect(try Data(contentsOf: url) == firstBytes)
        #expect(ChartError.fileExists(path: url.path).description.contains(url.path))
        try writePNG(chart, to: url, width: 500, height: 300, overwrite: true)
        #expect(PNGChunks.size(try Data(contentsOf: url))! == (500, 300))
    }
}

@Test func invalidSizeIsATypedError() {
    #expect(throws: ChartError.invalidSize(width: 0, height: 10)) {
        try renderPNGData(ExampleCharts.lineChart(), width: 0, height: 10)
    }
}

@Test func niceTicksAreOneTwoOrFiveTimesAPowerOfTen() {
    let scale = NumericScale.linear(lower: 0, upper: 0.97, maxTickCount: 6)
    #expect(scale.labels == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
    #expect(NumericScale.linear(lower: -0.013, upper: 0.011, maxTickCount: 6).labels
            == ["−0.015", "−0.010", "−0.005", "0.000", "0.005", "0.010", "0.015"])
    #expect(NumericScale.linear(lower: 0, upper: 48_000, maxTickCount: 6).labels == ["0", "10k", "20k", "30k", "40k", "50k"])
    #expect(NumericScale.linear(lower: 0, upper: 9e-5, maxTickCount: 4).labels == ["0", "5×10⁻⁵", "10⁻⁴"])
    #expect(NumericScale.logarithmic(lower: 1, upper: 11_000, maxTickCount: 6).labels == ["1", "10", "100", "1k", "10k", "100k"])
    #expect(NumericScale.logarithmic(lower: 1, upper: 8, maxTickCount: 6).labels == ["1", "2", "3", "5", "10"])
    // Within a factor of ten, 3 × 10^k is a tick too: Table 1's 4.65–23.5 MiB stays 3–30, not 1–100.
    #expect(NumericScale.logarithmic(lower: 4.65, upper: 23.5, maxTickCount: 5).labels == ["3", "5", "10", "20", "30"])
    #expect(NumericScale.logarithmic(lower: 2, upper: 700, maxTickCount: 4).labels == ["1", "10", "100", "1k"])
    #expect(NumericScale.linear(lower: 3, upper: 3, maxTickCount: 5).ticks.count >= 2)
    #expect(TickFormat.compact(64) == "64" && TickFormat.compact(25.43) == "25.4" && TickFormat.compact(174_000) == "174k")
    #expect(TickFormat.grouped(16384) == "16,384" && TickFormat.grouped(512) == "512")
}

/// Bar labels of one chart share one style: lesson 12's KL bars were labelled "0.0123" beside "4.5×10⁻⁴".
@Test func barLabelsOfOneChartShareOneFormat() {
    #expect(TickFormat.annotations(for: [0.0123, 0.00045, .nan, 0]) == ["0.01230", "0.00045", "n/a", "0"])
    #expect(TickFormat.annotations(for: [25.43, 3.1, -1.5]) == ["25.4", "3.1", "−1.5"])
    #expect(TickFormat.annotations(for: [2, 40, 600]) == ["2", "40", "600"])
    // too many decimals, or large values: each value's own compact form
    #expect(TickFormat.annotations(for: [1.5, 4.5e-9]) == [TickFormat.compact(1.5), TickFormat.compact(4.5e-9)])
    #expect(TickFormat.annotations(for: [174_000, 3]) == ["174k", "3"])
}

/// Error bars are drawn where a bar has an interval (lessons 3 and 12); bars without one are drawn as before.
@Test func barIntervalsAreDrawnWhereGiven() throws {
    let plain = GroupedBarChart(metadata: ExampleCharts.metadata("Intervals", "Two bars."), categories: ["a", "b"],
                                series: [BarSeries(name: "change", values: [0.2, 0.4])], xLabel: "precision", yLabel: "change")
    var none = plain
    none.series[0].intervals = [nil, nil]
    var some = plain
    some.series[0].intervals = [(-0.1)...0.5, nil]
    #expect(try renderImage(none).pixels == renderImage(plain).pixels)
    #expect(try renderImage(some).pixels != renderImage(plain).pixels)
}

@Test func tokensAreShownWithVisibleWhitespace() {
    #expect(RoutingHeatmap.displayText(ofToken: "\n") == "↵")
    #expect(RoutingHeatmap.displayText(ofToken: " the") == "␣the")
    #expect(RoutingHeatmap.displayText(ofToken: "▁The") == "␣The")
    #expect(RoutingHeatmap.displayText(ofToken: "\tx") == "⇥x")
    #expect(RoutingHeatmap.displayText(ofToken: "") == "∅")
}

/// Left/right pixel extents of the x tick labels as `drawAxes` places them (unrotated labels only).
private func xLabelBoxes(_ frame: PlotFrame, on canvas: ChartCanvas) -> [(Double, Double)] {
    switch frame.x {
    case .numeric(let scale):
        return zip(scale.ticks, scale.labels).compactMap { tick, label in
            frame.px(tick).map { x in (x - canvas.measure(label, .tick).width / 2, x + canvas.measure(label, .tick).width / 2) }
        }
    case .bands(let labels, let every, let degrees):
        return labels.indices.filter { $0 % every == 0 }.map { index in
            let band = frame.xBand(index)
            let center = (band.lower + band.upper) / 2
            // Rotated labels occupy one line height across the axis.
            let half = degrees == 0 ? canvas.measure(labels[index], .tick).width / 2
                                    : canvas.lineHeight(.tick) / 2 / sin(degrees * Double.pi / 180)
            return (center - half, center + half)
        }
    }
}

@Test(arguments: [1600, 700, 420])
func xTickLabelsNeverOverlap(width: Int) throws {
    let canvas = try ChartCanvas(width: width, height: 600)
    let kinds: [AxisSpec.Kind] = [
        .numeric(lower: 0, upper: 1_234_567, logarithmic: false),
        .numeric(lower: -0.0123, upper: 0.0119, logarithmic: false),
        .numeric(lower: 1e-6, upper: 3e3, logarithmic: true),
        .numeric(lower: 0.5, upper: 83.2, logarithmic: false),
        .bands((0..<32).map(String.init)),
        .bands((0..<300).map { "token \($0)" }),
        .bands(["fp32", "bf16", "attn q8_0 + experts q4_0"]),
    ]
    for kind in kinds {
        let frame = canvas.layoutPlot(in: canvas.bounds, x: AxisSpec(label: "x", kind: kind),
                                      y: AxisSpec(label: "y", kind: .numeric(lower: 0, upper: 1, logarithmic: false)))
        let boxes = xLabelBoxes(frame, on: canvas)
        #expect(boxes.count >= 2)
        for (left, right) in zip(boxes, boxes.dropFirst()) {
            #expect(left.1 <= right.0, "\(kind) at width \(width): labels overlap")
        }
    }
}

// MARK: Reference PNGs

private let referenceNames = ["weight-histogram", "routing-heatmap", "transfer-timeline"]
private let referenceSize = (width: 800, height: 500)

/// Re-creates the reference PNGs in Tests/ChartsTests/Fixtures/ after a deliberate change to the drawing:
/// `MIXTRAL_LAB_WRITE_FIXTURES=1 ./scripts/test.sh --filter writeReferencePNGs` (then look at them).
@Test(.enabled(if: ProcessInfo.processInfo.environment["MIXTRAL_LAB_WRITE_FIXTURES"] == "1"))
func writeReferencePNGs() throws {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    for name in referenceNames {
        try writePNG(example(name), to: fixtures.appendingPathComponent("\(name).png"),
                     width: referenceSize.width, height: referenceSize.height, overwrite: true)
    }
}

@Test(arguments: referenceNames)
func matchesReferencePNG(name: String) throws {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: "png", subdirectory: "Fixtures"))
    let reference = try RGBAImage(png: Data(contentsOf: url))
    let image = try renderImage(example(name), width: referenceSize.width, height: referenceSize.height)
    #expect(image.width == reference.width && image.height == reference.height)
    // Small differences in anti-aliasing or font rasterising between library versions are tolerated:
    // mean difference under 1 level per channel and under 0.5 % of pixels off by more than 64.
    var total = 0, farOff = 0
    image.pixels.withUnsafeBufferPointer { a in
        reference.pixels.withUnsafeBufferPointer { b in
            for pixel in 0..<min(a.count, b.count) / 4 {
                var worst = 0
                for channel in 0..<4 {
                    let d = abs(Int(a[pixel * 4 + channel]) - Int(b[pixel * 4 + channel]))
                    total += d
                    worst = max(worst, d)
                }
                if worst > 64 { farOff += 1 }
            }
        }
    }
    let mean = Double(total) / Double(image.pixels.count)
    #expect(mean < 1.0, "\(name): mean channel difference \(mean)")
    #expect(Double(farOff) < 0.005 * Double(image.width * image.height), "\(name): \(farOff) pixels differ by > 64")
}
