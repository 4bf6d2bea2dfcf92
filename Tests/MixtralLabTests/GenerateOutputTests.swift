import Testing
@testable import mixtral_lab

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
    }
}
