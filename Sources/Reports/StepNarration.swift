import Foundation
import Offloading
import Tracing

/// One forward call of a traced run as the step-through simulator walks it: one stop per MoE layer
/// (the layer's records, one per token of the call), then the token the call produced.
public struct ForwardCallRecords: Equatable {
    /// `[layer][token of the call]`, layers in run order.
    public var stops: [[LayerRecord]]
    public var token: TokenRecord

    public init(stops: [[LayerRecord]], token: TokenRecord) {
        self.stops = stops
        self.token = token
    }

    /// Splits a run's records (as a `TraceSink` received them) into forward calls: the prefill's records
    /// belong to the first token record; a decode call at position p to the token record at position p + 1.
    /// Token records without layer records (none in a real run) get no stops.
    public static func split(layers: [LayerRecord], tokens: [TokenRecord]) -> [ForwardCallRecords] {
        tokens.map { token in
            let mine = layers.filter { record in
                token.phase == .prefill ? record.phase == .prefill
                    : record.phase == .decode && record.position == token.position - 1
            }
            var order: [Int] = []
            var byLayer: [Int: [LayerRecord]] = [:]
            for record in mine {
                if byLayer[record.layer] == nil { order.append(record.layer) }
                byLayer[record.layer, default: []].append(record)
            }
            return ForwardCallRecords(stops: order.map { byLayer[$0]! }, token: token)
        }
    }
}

/// The words of `mixtral-lab step`: a few lines per stop (one MoE layer of one forward call) and a
/// summary after each produced token, built only from trace records, so they say what the trace files say.
/// Keeps running totals of everything it has been shown.
public struct StepNarrator {
    /// Experts per layer and per token, for "top-2 of 8".
    public let numExperts: Int
    public let topK: Int
    public private(set) var hits = 0
    public private(set) var misses = 0
    public private(set) var bytesMoved = 0
    public private(set) var tokens = 0
    /// Simulated time and stall up to the last token shown, µs.
    public private(set) var endUs = 0.0
    public private(set) var stallUs = 0.0
    /// Layers shown of the forward call not yet finished (`tokenEnd` resets it): their hits, misses and
    /// bytes are in the counts, their time is not in `endUs` yet.
    public private(set) var layersSinceTokenEnd = 0

    public init(numExperts: Int, topK: Int) {
        self.numExperts = numExperts
        self.topK = topK
    }

    /// The stop for one MoE layer of one forward call.
    /// - Parameters:
    ///   - records: the layer's records, one per token of the call (one in decode, the prompt in a prefill).
    ///   - residualError: ‖h − h_fp32‖ / ‖h_fp32‖ of the residual stream after this layer (mean over the
    ///     call's tokens), or nil when the run is fp32.
    public mutating func layerStop(_ records: [LayerRecord], residualError: Double?) -> String {
        guard let first = records.first else { return "" }
        let recordHits = records.flatMap(\.hits), recordMisses = records.flatMap(\.misses)
        let bytes = records.reduce(0) { $0 + $1.bytesMoved }
        hits += recordHits.count
        misses += recordMisses.count
        bytesMoved += bytes
        layersSinceTokenEnd += 1

        var lines: [String] = []
        if first.phase == .prefill {
            let positions = records.map(\.position)
            lines.append("layer \(first.layer) · prompt, positions \(positions.min()!)–\(positions.max()!) (prefill, \(counted(records.count, "token")) in one batch)")
            lines.append("  router   " + Self.usage(records) + "  (top-\(topK) of \(numExperts) per token; uses of each expert)")
        } else {
            let routes = zip(first.experts, first.weights).map { "e\($0) \(String(format: "%.2f", $1))" }
            lines.append("layer \(first.layer) · position \(first.position) (decode)")
            lines.append("  router   " + routes.joined(separator: " · ") + "  (top-\(topK) of \(numExperts), weights sum to 1)")
        }
        var cache = [Self.list("hit", recordHits), Self.list("miss", recordMisses)].compactMap { $0 }
        let prefetchHits = records.flatMap(\.prefetchHits)
        if !prefetchHits.isEmpty { cache.append("(\(Self.experts(prefetchHits)) there thanks to a prefetch)") }
        let evicted = records.flatMap(\.evicted)
        if let evictions = Self.list("evicted", evicted) { cache.append(evictions) }
        lines.append("  cache    " + cache.joined(separator: " · "))
        let transferUs = records.reduce(0) { $0 + $1.transferUs }
        let prefetched = records.flatMap(\.prefetched)
        if bytes > 0 {
            var moved = "  moved    \(ByteSize.format(bytes)), \(Self.time(transferUs)) on the link"
            if !prefetched.isEmpty {
                moved += " (prefetched " + prefetched.map { "L\($0.layer):e\($0.expert)" }.joined(separator: " ") + ")"
            }
            lines.append(moved)
        }
        if let timeline = first.timeline {
            lines.append("  time     attention \(Self.time(timeline.attentionUs)) · stall \(Self.time(timeline.stallUs)) · experts \(Self.time(timeline.expertsUs))")
        }
        if let residualError {
            lines.append("  error    residual stream vs fp32: ‖h − h_fp32‖ / ‖h_fp32‖ = " + String(format: "%.4f", residualError))
        }
        return lines.joined(separator: "\n")
    }

    /// The summary after a forward call: the token it produced and the running totals.
    public mutating func tokenEnd(_ record: TokenRecord) -> String {
        tokens += 1
        layersSinceTokenEnd = 0
        endUs = record.endUs
        stallUs += record.stallUs
        let probability = record.top.first { $0.id == record.tokenId }.map { String(format: ", p %.2f", $0.probability) } ?? ""
        let runnerUp = record.top.first { $0.id != record.tokenId }.map {
            "; next best \(String(reflecting: $0.text)) " + String(format: "%.2f", $0.probability)
        } ?? ""
        return """
        → token \(String(reflecting: record.text)) (id \(record.tokenId)\(probability)\(runnerUp)) for position \(record.position); \
        this \(record.phase.rawValue) call took \(Self.time(record.latencyUs)), stall \(Self.time(record.stallUs))
          so far   \(totals)
        """
    }

    /// The running totals in one line. Between layers of an unfinished call (quitting `step` mid-token)
    /// the counts include its layers shown but the clock stops at the last finished token, and the line
    /// says so.
    public var totals: String {
        let accesses = hits + misses
        let rate = accesses > 0 ? String(format: " (hit rate %.3f)", Double(hits) / Double(accesses)) : ""
        let shown = counted(tokens, "token") + (layersSinceTokenEnd > 0 ? " and \(counted(layersSinceTokenEnd, "layer")) of the next" : "")
        let clock = "\(Self.time(endUs)) simulated, stall \(Self.time(stallUs))" + (layersSinceTokenEnd > 0 ? " (to the end of the last finished token)" : "")
        return "\(shown) · hits \(hits), misses \(misses)\(rate) · \(ByteSize.format(bytesMoved)) moved · \(clock)"
    }

    /// "e5 ×7 · e2 ×6 · …": how often each expert was chosen over the records, most used first.
    private static func usage(_ records: [LayerRecord]) -> String {
        var counts: [Int: Int] = [:]
        for record in records { for e in record.experts { counts[e, default: 0] += 1 } }
        return counts.sorted { ($0.value, -$0.key) > ($1.value, -$1.key) }.map { "e\($0.key) ×\($0.value)" }.joined(separator: " · ")
    }

    private static func experts(_ list: [Int]) -> String { list.map { "e\($0)" }.joined(separator: " ") }

    /// "hit e5 e2", or nil for an empty list.
    private static func list(_ label: String, _ list: [Int]) -> String? {
        list.isEmpty ? nil : "\(label) \(experts(list))"
    }

    /// Simulated time: milliseconds from 1 ms, else microseconds (three decimals below 1 µs).
    static func time(_ microseconds: Double) -> String {
        microseconds >= 1000 ? String(format: "%.2f ms", microseconds / 1000)
            : String(format: microseconds < 1 ? "%.3f µs" : "%.1f µs", microseconds)
    }
}
