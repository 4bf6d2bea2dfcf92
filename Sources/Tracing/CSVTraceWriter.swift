import Foundation

/// Writes one CSV row per token × layer (token records are not written; use the JSONL trace for them).
///
/// Columns are `columns` (the `LayerRecord` fields in snake_case, without the timeline; the `real_*`
/// columns are the `real` reads, empty when the record has none). List columns hold
/// space-separated values (`prefetched` and `prefetch_evicted` as `layer:expert` pairs), so each list is one
/// field and needs no quoting.
public final class CSVTraceWriter: TraceSink {
    public static let columns = ["position", "layer", "phase", "experts", "weights", "hits", "misses", "shared",
                                 "prefetched", "prefetch_hits", "evicted", "prefetch_evicted", "bytes_moved", "compute_us",
                                 "transfer_us", "stall_us", "router_logits", "real_hits", "real_misses", "real_read_bytes",
                                 "real_read_us", "real_stall_us"]
    private let file: TraceFile

    /// Creates the file and writes the header row.
    /// - Throws: `TraceError.fileExists` (unless `overwrite`), `.io`.
    public init(url: URL, overwrite: Bool = false) throws {
        file = try TraceFile(url: url, overwrite: overwrite)
        file.write(Self.columns.joined(separator: ",") + "\n")
    }

    public func write(_ record: LayerRecord) {
        func list<T>(_ values: [T]) -> String { values.map { "\($0)" }.joined(separator: " ") }
        func pairs(_ values: [LayerExpert]) -> String { values.map { "\($0.layer):\($0.expert)" }.joined(separator: " ") }
        let fields: [String] = [
            "\(record.position)", "\(record.layer)", record.phase.rawValue,
            list(record.experts), list(record.weights), list(record.hits), list(record.misses), list(record.shared),
            pairs(record.prefetched), list(record.prefetchHits), list(record.evicted), pairs(record.prefetchEvicted),
            "\(record.bytesMoved)",
            Self.microseconds(record.computeUs), Self.microseconds(record.transferUs), Self.microseconds(record.stallUs),
            list(record.routerLogits),
            record.real.map { list($0.hits) } ?? "", record.real.map { list($0.misses) } ?? "",
            record.real.map { "\($0.readBytes)" } ?? "", record.real.map { Self.microseconds($0.readUs) } ?? "",
            record.real.map { Self.microseconds($0.stallUs) } ?? "",
        ]
        file.write(fields.joined(separator: ",") + "\n")
    }

    public func write(_ record: TokenRecord) {}

    public func close() throws { try file.close() }

    /// Microseconds with three decimals (nanosecond resolution).
    static func microseconds(_ value: Double) -> String { String(format: "%.3f", value) }
}
