import Foundation
import Testing
@testable import mixtral_lab
import TestSupport

/// `generate > out.txt` keeps the text alone: the simulated-offloading totals and `--timing` go to
/// standard error, after the text.
struct GenerateOutputTests {
    @Test func statisticsGoToStandardErrorAndTheTextToStandardOutput() throws {
        var errors = ""
        let output = try standardOutput {
            errors = try standardError {
                #expect(failure(["generate", "--max-tokens", "3", "--policy", "lru", "--cache-experts", "2", "--timing"]) == nil)
            }
        }
        let statistics = errors.split(separator: "\n").filter { $0.hasPrefix("offloading: lru,") || $0.hasPrefix("timing: prefill") }
        #expect(statistics.count == 2, "standard error: \(errors)")
        for line in statistics { #expect(!output.contains(line), "on standard output: \(line)") }
        #expect(output.contains("ROMEO:\n"), "standard output: \(output)")
        // the text ends its line, so what follows on either stream starts on a line of its own
        #expect(output.hasSuffix("\n"), "standard output: \(output)")
    }
}

/// A `--ram-budget` run measures its own speed: the simulation of the default machine (colab-t4) is not
/// printed beside it unless `--hardware`, `--cache-experts` or `--cache-bytes` asks for one, and then it
/// says it is not this run's, on the line just before the real totals. Standard error is captured for the
/// test's own task (`Output.capture`), so no other test's line lands among the run's (review 8 #4: when
/// it was the process's file descriptor 2, another test's line could come between them).
struct GenerateRealRunSimulationTests {
    let scratch = try! TemporaryDirectory("generate-real-sim")
    static let label = "for comparison, not this run: offloading: lru,"

    /// The lines of standard error before `generate`'s "real offloading:" line.
    private func linesBeforeRealTotals(_ extra: [String]) throws -> [String] {
        let store = scratch.url.appendingPathComponent("store").path
        let errors = try standardError {
            #expect(failure(["generate", "--max-tokens", "2", "--ram-budget", "14MiB", "--offload-store", store] + extra) == nil)
        }
        let lines = errors.split(separator: "\n").map(String.init)
        guard let real = lines.firstIndex(where: { $0.hasPrefix("real offloading: lru") }) else {
            Issue.record("no real-offloading line in: \(errors)")
            return []
        }
        return Array(lines[..<real])
    }

    @Test func theSimulatedLineAppearsOnlyWhenHardwareIsGivenAndIsLabelled() throws {
        let unasked = try linesBeforeRealTotals(["--policy", "lru"])
        #expect(!unasked.contains { $0.hasPrefix("for comparison") }, "\(unasked)")
        let asked = try linesBeforeRealTotals(["--policy", "lru", "--hardware", "colab-t4"])
        #expect(asked.last?.hasPrefix(Self.label) == true, "\(asked)")
    }

    /// The flags the help names ask for it on their own, without `--policy` (the reviewer's
    /// `generate --ram-budget 8MiB --hardware colab-t4` printed none).
    @Test(arguments: [["--hardware", "colab-t4"], ["--cache-experts", "2"], ["--cache-bytes", "4MiB"]])
    func eachFlagOfTheSimulationAsksForItWithoutAPolicy(flags: [String]) throws {
        let asked = try linesBeforeRealTotals(flags)
        #expect(asked.last?.hasPrefix(Self.label) == true, "\(flags): \(asked)")
    }
}
