import Foundation
import Testing
import Tracing
import TestSupport

/// The three trace writers on a hand-made two-record trace.
struct WriterTests {
    let header = TraceHeader(model: "tiny", precision: "q4", policy: "lru", cacheExperts: 2, cacheBytes: 4096,
                             hardware: "colab-t4", prompt: "ROMEO:\n", promptTokens: [1, 5], seed: 0,
                             toolVersion: "test", numLayers: 2, numExperts: 4, topK: 2, assumptions: ["one link"])
    let layer = LayerRecord(
        position: 2, layer: 1, phase: .decode, routerLogits: [0.5, -1, 2, 0], experts: [2, 0], weights: [0.8, 0.2],
        hits: [2], misses: [0], prefetched: [LayerExpert(layer: 1, expert: 3)], evicted: [1], bytesMoved: 2048,
        computeUs: 12.5, transferUs: 3.25, stallUs: 3.25,
        timeline: LayerTimeline(startUs: 100, attentionUs: 4.5, stallUs: 3.25, expertsUs: 8,
                                transfers: [TransferRecord(expert: 0, layer: 1, kind: .demand, bytes: 1024, startUs: 104.5, durationUs: 3.25)]))
    let token = TokenRecord(position: 3, phase: .decode, tokenId: 7, text: "a \"b\"",
                            top: [TokenProbability(id: 7, text: "a \"b\"", probability: 0.75)],
                            latencyUs: 40, stallUs: 3.25, endUs: 140)

    /// This test's folder, removed when the test ends.
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("tracing-tests") }

    @Test func jsonlHasAHeaderThenOneObjectPerRecord() throws {
        let url = scratch.url.appendingPathComponent("trace.jsonl")
        let writer = try JSONLTraceWriter(url: url, header: header)
        writer.write(layer)
        writer.write(token)
        try writer.close()
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects.map { $0["type"] as! String } == ["header", "layer", "token"])
        #expect(objects[0]["cache_experts"] as? Int == 2)
        #expect(objects[0]["format_version"] as? Int == TraceHeader.formatVersion)
        #expect(objects[1]["router_logits"] as? [Double] == [0.5, -1, 2, 0])
        #expect(objects[1]["bytes_moved"] as? Int == 2048)
        #expect((objects[1]["prefetched"] as? [[String: Int]])?.first == ["layer": 1, "expert": 3])
        #expect(((objects[1]["timeline"] as? [String: Any])?["transfers"] as? [Any])?.count == 1)
        #expect(objects[2]["text"] as? String == "a \"b\"")
        #expect(objects[2]["token_id"] as? Int == 7)
    }

    @Test func csvHasOneRowPerLayerRecordWithEveryColumn() throws {
        let url = scratch.url.appendingPathComponent("trace.csv")
        let writer = try CSVTraceWriter(url: url)
        writer.write(layer)
        writer.write(token)
        try writer.close()
        let rows = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.count == 2)
        #expect(rows[0].map(String.init) == CSVTraceWriter.columns)
        #expect(rows[1].count == CSVTraceWriter.columns.count)
        let row = Dictionary(uniqueKeysWithValues: zip(CSVTraceWriter.columns, rows[1].map(String.init)))
        #expect(row["experts"] == "2 0" && row["prefetched"] == "1:3" && row["misses"] == "0")
        #expect(row["compute_us"] == "12.500" && row["router_logits"] == "0.5 -1.0 2.0 0.0")
    }

    @Test func perfettoIsTraceEventJSONWithComputeAndTransferTracks() throws {
        let url = scratch.url.appendingPathComponent("trace.perfetto.json")
        let writer = try PerfettoTraceWriter(url: url, header: header)
        writer.write(layer)
        writer.write(token)
        try writer.close()
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let events = json["traceEvents"] as! [[String: Any]]
        let slices = events.filter { $0["ph"] as? String == "X" }
        #expect(slices.map { $0["name"] as! String } == ["attention", "stall", "experts", "demand e0"])
        #expect(slices.filter { $0["pid"] as? Int == 1 }.allSatisfy { $0["tid"] as? Int == 1 })
        #expect(slices[3]["pid"] as? Int == 2 && slices[3]["ts"] as? Double == 104.5 && slices[3]["dur"] as? Double == 3.25)
        #expect(slices[2]["ts"] as? Double == 107.75)
        #expect(events.contains { $0["ph"] as? String == "i" && $0["ts"] as? Double == 140 })
        #expect(events.filter { $0["ph"] as? String == "M" }.count == 3 + 2 * header.numLayers)
    }

    @Test func existingFilesAreNotOverwrittenUnlessAsked() throws {
        let url = scratch.url.appendingPathComponent("trace.csv")
        try CSVTraceWriter(url: url).close()
        #expect(throws: TraceError.fileExists(path: url.path)) { try CSVTraceWriter(url: url) }
        try CSVTraceWriter(url: url, overwrite: true).close()
    }

    @Test func aMissingDirectoryIsReportedWithThePath() throws {
        let url = scratch.url.appendingPathComponent("no/such/dir/trace.jsonl")
        #expect(throws: TraceError.self) { try JSONLTraceWriter(url: url, header: header) }
    }
}
