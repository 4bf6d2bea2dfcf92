import Foundation
import Testing
import TestSupport

/// Class 1 of issue #18 through the CLI: `--policy resident` under a budget that holds fewer than every
/// expert is refused naming the minimum, on every command that takes `--ram-budget`; caching policies
/// run in the same budget.
struct BudgetPolicyFlagTests {
    let scratch = try! TemporaryDirectory("budget-policy")
    var store: [String] { ["--offload-store", scratch.url.appendingPathComponent("store").path] }

    @Test(arguments: [["generate", "--max-tokens", "2"], ["compare", "--precisions", "q4", "--max-tokens", "2"]])
    func residentUnderASmallBudgetIsRefused(_ command: [String]) {
        let result = failure(command + ["--ram-budget", "14MiB", "--policy", "resident"] + store)
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("--ram-budget 14.00 MiB is too small: at least ") == true, "\(String(describing: result))")
        #expect(result?.message.contains("; --policy resident keeps all 8 experts of every layer)") == true)
        if command[0] == "compare" {
            #expect(result?.message.hasSuffix("; compare and lesson run hold a KV cache of 1024 positions (the held-out text they score) and scratch for 512-token forward calls, so they need more than generate or trace with the same model") == true,
                    "\(String(describing: result))")
        }
    }

    /// compare's minimum is larger than generate's for the same model (its KV cache holds the held-out
    /// text it scores); the refusal says so, naming the budget compare needs.
    @Test func compareSaysWhyItNeedsMoreThanGenerate() {
        #expect(failure(["generate", "--max-tokens", "2", "--ram-budget", "8MiB", "--policy", "lru"] + store) == nil)
        let result = failure(["compare", "--precisions", "q4", "--max-tokens", "2", "--ram-budget", "8MiB", "--policy", "lru"] + store)
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("--ram-budget 8.00 MiB is too small: at least 13.41 MiB") == true, "\(String(describing: result))")
        #expect(result?.message.contains("compare and lesson run hold a KV cache of") == true)
    }

    @Test func traceWithResidentUnderASmallBudgetIsRefused() throws {
        let result = failure(["trace", "--max-tokens", "2", "--ram-budget", "14MiB", "--policy", "resident",
                              "--out", try scratch.newFolder().path] + store)
        #expect(result?.code == 2)
        #expect(result?.message.contains("--policy resident keeps all 8 experts of every layer") == true)
    }

    @Test func lruRunsInTheSameBudget() {
        #expect(failure(["generate", "--max-tokens", "2", "--ram-budget", "14MiB", "--policy", "lru"] + store) == nil)
    }

    @Test func anOffloadStoreThatIsAFileIsRefused() throws {
        let file = scratch.url.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        let result = failure(["generate", "--max-tokens", "2", "--ram-budget", "14MiB", "--offload-store", file.path])
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("--offload-store \(file.path): is a file, not a folder") == true, "\(String(describing: result))")
    }
}
