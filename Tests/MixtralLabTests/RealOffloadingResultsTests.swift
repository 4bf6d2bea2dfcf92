import Testing
import Foundation
import TestSupport
@testable import mixtral_lab

/// With `--ram-budget`, the real offloading totals are part of the results — `compare`'s table and JSON,
/// a lesson's report.md — not only lines on standard error.
struct RealOffloadingResultsTests {
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("real-offloading-results") }

    /// On the default model: 1 slot per layer at fp32 (the minimum is 13.16 MiB: resident weights, session,
    /// two transient buffers and 4 slots of 576 KiB) and one more in layers 0–1 (the budget's remainder),
    /// every expert at q4.
    private var budgetFlags: [String] {
        ["--ram-budget", "14912KiB", "--offload-store", scratch.url.appendingPathComponent("store").path]
    }

    /// `compare` of fp32 and q4 on two greedy tokens: its standard output, line by line.
    private func compare(_ flags: [String]) throws -> [String] {
        let arguments = ["compare", "--precisions", "q4", "--max-tokens", "2", "--heldout-tokens", "0"] + flags
        let command = try #require(try MixtralLab.parseAsRoot(arguments) as? Compare)
        var printed: [String] = []
        try command.run { printed.append($0) }
        return printed.joined(separator: "\n").components(separatedBy: "\n")
    }

    private func jsonResults(_ lines: [String]) throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(lines.joined(separator: "\n").utf8)) as? [String: Any]
        return try #require(object?["results"] as? [[String: Any]])
    }

    @Test func compareJSONGivesEachPrecisionItsRealOffloadingOnlyUnderABudget() throws {
        let results = try jsonResults(compare(budgetFlags + ["--format", "json"]))
        #expect(results.map { $0["precision"] as? String } == ["fp32", "q4"])
        for (result, slots) in zip(results, [1, 8]) {
            let real = try #require(result["real_offloading"] as? [String: Any], "\(result["precision"] ?? "")")
            #expect(real["policy"] as? String == "lru")
            #expect(real["slots_per_layer"] as? Int == slots)
            #expect((real["bytes_read"] as? Int ?? 0) > 0)
            #expect(real["hit_rate"] is Double && real["read_seconds"] is Double && real["stall_seconds"] is Double)
            #expect((real["peak_rss_bytes"] as? Int ?? 0) > 0)
        }
        let resident = try jsonResults(compare(["--format", "json"]))
        #expect(resident.count == 2 && resident.allSatisfy { $0["real_offloading"] == nil })
    }

    /// Each expert precision that needs a store gets its own subfolder of `--offload-store`: a run at
    /// several precisions does not rebuild one store for each in turn.
    @Test func eachPrecisionKeepsItsOwnStoreInTheOffloadStoreFolder() throws {
        let arguments = ["compare", "--precisions", "int8,q4", "--max-tokens", "2", "--heldout-tokens", "0"] + budgetFlags
        let command = try #require(try MixtralLab.parseAsRoot(arguments) as? Compare)
        try command.run { _ in }
        let store = scratch.url.appendingPathComponent("store")
        let folders = try FileManager.default.contentsOfDirectory(atPath: store.path).sorted()
        #expect(folders == ["fp32", "int8", "q4"])   // the embedded model stores bf16: every run needs a store
        for folder in folders {
            let manifest = try String(contentsOf: store.appendingPathComponent(folder).appendingPathComponent("manifest.json"), encoding: .utf8)
            #expect(manifest.contains("\"\(folder)\""), "\(folder)")
        }
    }

    @Test func compareTableIsFollowedByEachPrecisionsTotals() throws {
        let lines = try compare(budgetFlags)
        let tableEnd = try #require(lines.lastIndex { $0.hasPrefix("|") })
        let after = lines[(tableEnd + 1)...]
        #expect(after.contains { $0.hasPrefix("fp32: real offloading: lru, 1 of 8 experts per layer (2 in layers 0–1) in RAM · hit rate ") })
        #expect(after.contains { $0.hasPrefix("q4: real offloading: lru, 8 of 8 experts per layer in RAM · hit rate ") })
        #expect(after.contains { $0.contains(" · read ") && $0.contains(" MiB/s) · stall ") })
    }

    @Test func lessonReportEndsWithTheRealOffloadingSection() throws {
        let output = scratch.url.appendingPathComponent("lesson")
        let result = failure(["lesson", "run", "5", "--out", output.path] + budgetFlags)
        #expect(result == nil, "\(result?.message ?? "")")
        let report = try String(contentsOf: output.appendingPathComponent("report.md"), encoding: .utf8)
        let heading = try #require(report.range(of: "\n## Real offloading (--ram-budget 14912KiB)\n"))
        let section = report[heading.upperBound...]
        #expect(section.contains("\n- fp32: real offloading: lru, 1 of 8 experts per layer (2 in layers 0–1) in RAM · hit rate "))
        #expect(!section.contains("\n## "), "the section is not the report's last")
    }
}
