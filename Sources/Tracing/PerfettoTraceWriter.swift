import Foundation

/// Writes the simulated timeline as Chrome trace-event JSON (the "JSON Object Format" of the Trace Event
/// Format document, which ui.perfetto.dev and chrome://tracing open).
///
/// Process 1 "compute" has one track per layer with `attention`, `stall` and `experts` slices; process 2
/// "transfers" has one track per receiving layer with a slice per expert transfer (demand or prefetch).
/// Timestamps are simulated microseconds since the run began. Token records become instant events on a
/// "tokens" track.
public final class PerfettoTraceWriter: TraceSink {
    private let file: TraceFile
    private var first = true
    private let encoder = JSONEncoder()

    /// Creates the file, opens the event array and names the tracks.
    /// - Throws: `TraceError.fileExists` (unless `overwrite`), `.io`.
    public init(url: URL, header: TraceHeader, overwrite: Bool = false) throws {
        file = try TraceFile(url: url, overwrite: overwrite)
        encoder.outputFormatting = [.sortedKeys]
        file.write("{\"displayTimeUnit\":\"ms\",\"otherData\":{\"policy\":\(quoted(header.policy)),\"hardware\":\(quoted(header.hardware)),\"model\":\(quoted(header.model))},\"traceEvents\":[\n")
        metadata(pid: 1, name: "process_name", value: "compute")
        metadata(pid: 2, name: "process_name", value: "transfers")
        metadata(pid: 3, name: "process_name", value: "tokens")
        for l in 0..<header.numLayers {
            metadata(pid: 1, tid: l, name: "thread_name", value: "layer \(l)")
            metadata(pid: 2, tid: l, name: "thread_name", value: "to layer \(l)")
        }
    }

    public func write(_ record: LayerRecord) {
        guard let timeline = record.timeline else { return }
        let args = "{\"position\":\(record.position),\"phase\":\"\(record.phase.rawValue)\"}"
        var t = timeline.startUs
        slice(name: "attention", pid: 1, tid: record.layer, start: t, duration: timeline.attentionUs, args: args)
        t += timeline.attentionUs
        if timeline.stallUs > 0 {
            slice(name: "stall", pid: 1, tid: record.layer, start: t, duration: timeline.stallUs, args: args)
            t += timeline.stallUs
        }
        slice(name: "experts", pid: 1, tid: record.layer, start: t, duration: timeline.expertsUs, args: args)
        for transfer in timeline.transfers {
            let transferArgs = "{\"expert\":\(transfer.expert),\"bytes\":\(transfer.bytes),\"kind\":\"\(transfer.kind.rawValue)\",\"issued_by_layer\":\(record.layer)}"
            slice(name: "\(transfer.kind.rawValue) e\(transfer.expert)", pid: 2, tid: transfer.layer,
                  start: transfer.startUs, duration: transfer.durationUs, args: transferArgs)
        }
    }

    public func write(_ record: TokenRecord) {
        event("{\"name\":\(quoted(record.text)),\"ph\":\"i\",\"s\":\"p\",\"pid\":3,\"tid\":0,\"ts\":\(format(record.endUs)),\"args\":{\"token_id\":\(record.tokenId),\"position\":\(record.position),\"latency_us\":\(format(record.latencyUs))}}")
    }

    public func close() throws {
        file.write("\n]}\n")
        try file.close()
    }

    private func slice(name: String, pid: Int, tid: Int, start: Double, duration: Double, args: String) {
        event("{\"name\":\(quoted(name)),\"ph\":\"X\",\"pid\":\(pid),\"tid\":\(tid),\"ts\":\(format(start)),\"dur\":\(format(duration)),\"args\":\(args)}")
    }

    private func metadata(pid: Int, tid: Int = 0, name: String, value: String) {
        event("{\"name\":\"\(name)\",\"ph\":\"M\",\"pid\":\(pid),\"tid\":\(tid),\"args\":{\"name\":\(quoted(value))}}")
    }

    private func event(_ json: String) {
        file.write(first ? json : ",\n" + json)
        first = false
    }

    private func quoted(_ text: String) -> String {
        String(decoding: try! encoder.encode(text), as: UTF8.self)
    }

    private func format(_ microseconds: Double) -> String { String(format: "%.3f", microseconds) }
}
