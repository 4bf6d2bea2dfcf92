import ArgumentParser
import Foundation
import FileChecks
import Charts
import Checkpoints
import Lessons
import Offloading
import Tracing

// Output and error helpers of the offloading commands (trace, plan, step, generate, chart).

/// Runs `body`, turning offloading and trace errors into one-line usage errors (exit code 2).
func offloadingInput<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as OffloadingError {
        throw ValidationError(error.description)
    } catch let error as TraceError {
        throw ValidationError(error.description)
    }
}

/// `text` padded with spaces to `width` columns (left-aligned, or right-aligned).
func padColumn(_ text: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return right ? fill + text : text + fill
}

/// Writes `value` as pretty JSON with snake_case keys, sorted, and a final newline. The caller has checked
/// whether an existing file may be replaced; anything but a regular file there is refused.
/// - Throws: `ValidationError` naming the file when it cannot be written.
func writeSnakeCaseJSON<T: Encodable>(_ value: T, to url: URL) throws {
    if let refusal = outputFileRefusal(url.path, overwrite: true) { throw ValidationError("\(url.path) \(refusal)") }
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    do { try (encoder.encode(value) + Data("\n".utf8)).write(to: url) } catch {
        throw ValidationError("cannot write \(url.path): \(error.localizedDescription)")
    }
}

/// `value` as a JSON object with snake_case keys (for embedding in a larger JSON document).
func snakeCaseJSONObject<T: Encodable>(_ value: T) throws -> Any {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return try JSONSerialization.jsonObject(with: try encoder.encode(value))
}

/// The prompt's token ids: `--token-ids` when given, else `--prompt` encoded with BOS.
/// - Throws: `ValidationError` without a tokenizer and without `--token-ids`, or when the prompt plus
///   `maxTokens` exceeds the model's context.
func promptTokens(prompt: String, tokenIds: String?, tokenizer: Tokenizer?, checkpoint: Checkpoint,
                  maxTokens: Int, context: Int) throws -> [Int] {
    let ids: [Int]
    if let tokenIds {
        ids = try parseTokenIDs(tokenIds, flag: "--token-ids")
    } else if let tokenizer {
        ids = tokenizer.encode(prompt, addBOS: true)
    } else {
        throw ValidationError("--model \(checkpoint.directory.path) has no tokenizer.json; give the prompt as --token-ids")
    }
    guard ids.count + maxTokens <= context else {
        throw ValidationError("the prompt is \(counted(ids.count, "token")); with --max-tokens \(maxTokens) that exceeds the model's context of \(context) positions")
    }
    return ids
}

/// One line of offloading totals, printed after `generate`'s text and at the end of `step`.
func offloadingSummaryLine(_ s: OffloadingSummary, numExperts: Int) -> String {
    "offloading: \(s.policy), \(slotsText(s.cacheExperts, extraSlotLayers: s.extraSlotLayers, numExperts: numExperts)), \(s.hardware) · "
        + String(format: "hit rate %.3f (decode %.3f)", s.hitRate, s.decodeHitRate)
        + " · \(ByteSize.format(s.bytesTransferred)) moved · "
        + String(format: "stall %.2f ms · est. %.2f tokens/s (simulated)", s.stallUs / 1000, s.tokensPerSecondEst)
}

/// "3 of 8 experts per layer", or with a budget's remainder "3 of 8 experts per layer (4 in layers 0–4)".
func slotsText(_ fewest: Int, extraSlotLayers: [Int], numExperts: Int) -> String {
    "\(fewest) of \(numExperts) experts per layer"
        + (extraSlotLayers.isEmpty ? "" : " (\(fewest + 1) in \(extraSlotLayers.count == 1 ? "layer" : "layers") \(LayerSlots.ranges(extraSlotLayers)))")
}

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
            + "stalls waiting for experts, expert transfers labelled with the layer they go to, and cache hits and misses (one square per expert).",
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

/// Writes `chart` as `file` in `directory` and prints its path.
/// - Throws: `ChartError.fileExists` when it exists and `force` is false, `.writeFailed` when it cannot be written.
func writeChart(_ chart: some Chart, file: String, in directory: URL, force: Bool) throws {
    let url = directory.appendingPathComponent(file)
    try writePNG(chart, to: url, overwrite: force)
    emit("chart: \(url.path)")
}
