import Testing
import Foundation

/// `--temperature` must be a finite number ≥ 0, `--top-p` in (0, 1], and `bench --threads` at most four per
/// core; `inf` and `nan` are refused with the value named, before any model is loaded.
struct SamplingAndThreadLimitTests {
    @Test(arguments: [
        (["generate", "--temperature", "inf"], "--temperature must be ≥ 0 and finite (0 = greedy); got inf"),
        (["generate", "--temperature", "nan"], "--temperature must be ≥ 0 and finite (0 = greedy); got nan"),
        (["trace", "--temperature", "inf", "--out", "unused"], "--temperature must be ≥ 0 and finite (0 = greedy); got inf"),
        (["generate", "--top-p", "nan"], "--top-p must be in (0, 1]; got nan"),
        (["generate", "--top-p", "inf"], "--top-p must be in (0, 1]; got inf"),
        // greedy decoding would ignore them silently
        (["generate", "--top-k", "5"], "--top-k 5 has no effect with --temperature 0 (greedy decoding takes the most likely token); give --temperature above 0 to sample"),
        (["generate", "--top-p", "0.9"], "--top-p 0.9 has no effect with --temperature 0 (greedy decoding takes the most likely token); give --temperature above 0 to sample"),
    ])
    func aNonFiniteSamplingValueIsRefused(arguments: [String], expected: String) {
        let result = failure(arguments)
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix(expected + " (See '") == true, "\(arguments): \(result?.message ?? "no error")")
    }

    @Test func benchThreadsAreAtMostFourPerCore() {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let result = failure(["bench", "--threads", "\(4 * cores + 1)"])
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("--threads \(4 * cores + 1): this machine has \(cores) core") == true, "\(result?.message ?? "no error")")
        #expect(result?.message.contains("give 1…\(4 * cores)") == true)
    }
}
