import Foundation
import Charts
import Reports
import Offloading
import Tracing

// The offloading charts that trace and chart draw, and writing a chart file.

/// The transfer timeline of a trace, titled from its header.
/// - Parameter steps: decode steps shown (the first ones).
func transferTimelineChart(header: TraceHeader, layers: [LayerRecord], source: String, steps: Int = 6) -> TransferTimeline {
    let decodePositions = Set(layers.filter { $0.phase == .decode }.map(\.position)).sorted().prefix(steps)
    let span = decodePositions.first.map { first in
        first == decodePositions.last! ? "decode position \(first)" : "decode positions \(first)–\(decodePositions.last!)"
    } ?? "no decode steps in the trace"
    let metadata = PNGMetadata(
        title: "Expert transfers, \(span): \(header.policy), \(header.cacheExperts) of \(header.numExperts) experts/layer, \(header.hardware)",
        description: "Simulated time of each decode step (one band per token position): attention and expert compute per layer, "
            + "stalls waiting for experts, expert transfers (misses and prefetches apart) labelled with the layer they go to, and cache hits and misses (one square per expert).",
        source: source, command: CommandLine.arguments.joined(separator: " "), model: header.model, precision: header.precision)
    return OffloadingCharts.transfers(layers, metadata: metadata, maxTokens: steps)
}

/// The hit-rate-against-cache-size chart of a sweep.
func hitRateChart(_ sweep: [OffloadingSummary], source: String, model: String?, precision: String?) -> LineChart {
    let hardware = sweep.first?.hardware ?? "?"
    let metadata = PNGMetadata(
        title: "Expert cache hit rate against cache size, per policy (same routing, \(hardware))",
        description: "Each policy replayed on one recorded run; hit rate = cache hits / expert accesses over prefill and decode, caches starting empty.",
        source: source, command: CommandLine.arguments.joined(separator: " "), model: model, precision: precision)
    return OffloadingCharts.hitRate(sweep, metadata: metadata)
}

/// Creates and locks the `--charts` folder (`createOutputFolder`) and refuses, before any work, each of
/// `files` in it that exists (without `force`) or is not a regular file — the refusals `writeChart` would
/// otherwise make after the run.
/// - Throws: `ValidationError`, `ChartError.fileExists`, `ChartError.notARegularFile`.
func createChartFolder(_ folder: URL, files: [String], force: Bool) throws {
    try createOutputFolder(folder, flag: "--charts", force: force)
    for file in files { try checkChartFile(folder.appendingPathComponent(file), overwrite: force) }
}

/// Writes `chart` as `file` in `directory` and prints its path.
/// - Throws: `ChartError.fileExists` when it exists and `force` is false, `.writeFailed` when it cannot be written.
func writeChart(_ chart: some Chart, file: String, in directory: URL, force: Bool) throws {
    let url = directory.appendingPathComponent(file)
    try writePNG(chart, to: url, overwrite: force)
    emit("chart: \(url.path)")
}
