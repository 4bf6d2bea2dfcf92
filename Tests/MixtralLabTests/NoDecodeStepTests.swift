import Testing
import Foundation
import Offloading
import TestSupport
@testable import mixtral_lab

/// A run without decode steps — only forward calls that start a sequence, as lesson 10's scored windows or
/// `generate --max-tokens 1` — has no decode hit rate or decode speed: its summary lines say so instead of
/// printing the 0 a summary holds for "none counted" (fresh-user review 10, F16: `(decode 0.000)`).
struct NoDecodeStepTests {
    @Test func aRealRunWithoutDecodeStepsSaysSo() {
        var s = DiskOffloadingSummary(policy: "lru", slots: [8, 8], source: "test", pageCache: "test")
        s.hits = 7; s.misses = 1; s.hitRate = 0.875
        s.bytesRead = 1024; s.prefillBytesRead = 1024
        let line = diskSummaryLine(s, numExperts: 8, decodeTokensPerSecond: nil)
        #expect(line.contains("hit rate 0.875 (no decode step)"), "\(line)")
        #expect(!line.contains("decode 0.000") && !line.contains("decode read"), "\(line)")
        // with decode steps, the decode figures are there as before
        s.decodeHits = 1; s.decodeMisses = 1; s.decodeHitRate = 0.5
        let decoded = diskSummaryLine(s, numExperts: 8, decodeTokensPerSecond: 3)
        #expect(decoded.contains("hit rate 0.875 (decode 0.500)") && decoded.contains("decode read 0 B in 0.00 s")
                && decoded.contains("decode 3.00 tokens/s"), "\(decoded)")
    }

    @Test func aSimulatedRunWithoutDecodeStepsSaysSo() {
        var s = OffloadingSummary(policy: "lru", slots: [2, 2], cacheBytes: 0, hardware: "colab-t4")
        s.hits = 3; s.misses = 1; s.hitRate = 0.75
        let line = offloadingSummaryLine(s, numExperts: 8)
        #expect(line.contains("hit rate 0.750 (no decode step)") && line.contains("no decode step to time (simulated)"), "\(line)")
        #expect(!line.contains("0.000") && !line.contains("0.00 tokens/s"), "\(line)")
    }

    /// The command a user runs: one new token under --ram-budget decodes nothing.
    @Test func generateOneTokenUnderABudgetPrintsNoDecodeFigures() throws {
        try withTemporaryDirectory("no-decode") { folder in
            let printed = try standardError {
                #expect(failure(["generate", "--max-tokens", "1", "--ram-budget", "48MiB", "--cache-experts", "2",
                                 "--offload-store", folder.path]) == nil)
            }
            let lines = printed.split(separator: "\n").filter { $0.contains("offloading: ") }
            #expect(lines.count == 2, "\(printed)")
            for line in lines {
                #expect(line.contains("(no decode step)") && !line.contains("(decode 0.000)") && !line.contains("0.00 tokens/s"), "\(line)")
            }
        }
    }

    /// `plan --measured` takes the decode hit rate of a trace: one without decode steps measured none.
    @Test func planRefusesATraceWithoutDecodeSteps() throws {
        try withTemporaryDirectory("no-decode") { folder in
            let trace = folder.appendingPathComponent("trace")
            #expect(failure(["trace", "--max-tokens", "1", "--out", trace.path]) == nil)
            let summary = trace.appendingPathComponent("summary.json").path
            let result = failure(["plan", "--model", "mixtral-8x7b", "--ram", "16GiB", "--measured", summary])
            #expect(result?.code == 2)
            #expect(result?.message == "--measured \(summary): the run had no decode step (decode_hits and decode_misses are 0), so its decode_hit_rate measures nothing; trace with --max-tokens 2 or more")
        }
    }
}
