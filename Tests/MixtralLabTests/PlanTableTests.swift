import Testing
import Foundation
import TestSupport
@testable import mixtral_lab

/// `plan`'s table of precision mixes keeps its columns apart when a mix does not fit (`--ram 2100MiB`, 52 MiB
/// usable after the 2 GiB reserve: none does); a memory that leaves nothing after the reserve is refused.
struct PlanTableTests {
    @Test func aMixThatDoesNotFitKeepsItsColumns() throws {
        let command = try #require(try MixtralLab.parseAsRoot(["plan", "--model", "mixtral-8x7b", "--ram", "2100MiB"]) as? Plan)
        var lines: [String] = []
        try command.run(printing: { lines.append($0) })
        let header = try #require(lines.firstIndex { $0.hasPrefix("precision ") && $0.hasSuffix("est. tok/s") })
        let rows = lines[(header + 1)...].prefix { !$0.isEmpty }
        #expect(rows.count == Plan.candidateSpecs.count)
        for row in rows {
            #expect(row.count == lines[header].count, "\(row)")
            // slots, hit rate and estimate columns, each right-aligned with room to spare
            #expect(row.hasSuffix("      -         -  does not fit"), "\(row)")
        }
    }

    @Test(arguments: [["--ram", "0"], ["--ram", "1KiB"], ["--ram", "2GiB"], ["--vram", "1GiB"]])
    func aMemoryThatLeavesNothingAfterTheReserveIsRefused(flags: [String]) throws {
        let command = try #require(try MixtralLab.parseAsRoot(["plan", "--model", "mixtral-8x7b"] + flags) as? Plan)
        #expect(throws: (any Error).self) { try command.run(printing: { _ in }) }
        let result = failure(["plan", "--model", "mixtral-8x7b"] + flags)
        #expect(result?.code == 2)
        #expect(result?.message.contains("\(flags[0]) ") == true && result?.message.contains("leaves nothing after --reserve") == true, "\(result?.message ?? "no error")")
    }

    /// `--measured` hit rates come from one run's cache size: a row of 0 slots shows none, and rows of other
    /// slot counts are said to assume it (the reviewer's 2-slot toy run applied to 4-slot plans, unsaid).
    @Test func aMeasuredHitRateIsNotShownForZeroSlotsAndIsSaidToBeAssumed() throws {
        try withTemporaryDirectory("plan-measured") { folder in
            let trace = folder.appendingPathComponent("trace")
            _ = try standardOutput { #expect(failure(["trace", "--policy", "lru", "--cache-experts", "2", "--max-tokens", "4", "--out", trace.path]) == nil) }
            let summary = trace.appendingPathComponent("summary.json").path
            let command = try #require(try MixtralLab.parseAsRoot(["plan", "--model", "mixtral-8x7b", "--ram", "16GiB", "--measured", summary]) as? Plan)
            var lines: [String] = []
            try command.run(printing: { lines.append($0) })
            let bf16 = try #require(lines.first { $0.hasPrefix("bf16 ") })
            #expect(bf16.contains("     0         - "), "\(bf16)")
            #expect(lines.contains { $0.hasPrefix("(the hit rate ") && $0.contains("measured in \(summary) with 2 slots per layer") }, "\(lines)")
        }
    }
}
