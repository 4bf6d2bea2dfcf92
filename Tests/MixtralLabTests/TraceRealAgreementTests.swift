import Testing
import Foundation
import TestSupport
@testable import mixtral_lab

/// `trace --ram-budget` on the default model: the simulation (summary.json) and the real run that streamed
/// the experts from disk (real-summary.json) make the same cache decisions — one cache step serves both.
struct TraceRealAgreementTests {
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("trace-real-agreement") }

    private func summaries(policy: String, budget: String) throws -> (simulated: [String: Any], real: [String: Any]) {
        let out = scratch.url.appendingPathComponent("\(policy)-\(budget)")
        let result = failure(["trace", "--ram-budget", budget, "--policy", policy, "--prompt", "KING. What say you?",
                              "--max-tokens", "24", "--out", out.path,
                              "--offload-store", scratch.url.appendingPathComponent("store").path])
        #expect(result == nil, "\(result?.message ?? "")")
        func read(_ name: String) throws -> [String: Any] {
            let data = try Data(contentsOf: out.appendingPathComponent(name))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
        return (try read("summary.json"), try read("real-summary.json"))
    }

    /// 8 MiB: 1 slot per layer (fewer than top-2) and one more in layer 0; 11 MiB: 2 slots; 14 MiB: 3 and
    /// 4 in layers 0–2 (fp32 experts of 576 KiB, 4 layers, about 5.1 MiB fixed).
    @Test(arguments: ["lru", "lfu", "static"], ["8MiB", "11MiB", "14MiB"])
    func summaryAndRealSummaryAgree(policy: String, budget: String) throws {
        let (simulated, real) = try summaries(policy: policy, budget: budget)
        for key in ["hits", "misses", "decode_hits", "decode_misses", "evictions", "transient_misses"] {
            #expect(simulated[key] as? Int == real[key] as? Int, "\(policy) at \(budget): \(key)")
        }
        #expect(simulated["cache_experts"] as? Int == real["slots_per_layer"] as? Int)
        #expect(simulated["extra_slot_layers"] as? [Int] == real["extra_slot_layers"] as? [Int])
        #expect((real["misses"] as? Int ?? 0) > 0)
        #expect((simulated["tokens_per_second_est"] as? Double ?? 0) > 0 && (real["decode_tokens_per_second"] as? Double ?? 0) > 0)
    }

    /// The simulation's estimate is a decode speed, so the real run's line prints the measured decode speed
    /// (real-summary.json's decode_tokens_per_second) before the whole run's, prefill included.
    @Test func theRealLinePrintsTheMeasuredDecodeSpeedBesideThePrediction() throws {
        let out = scratch.url.appendingPathComponent("printed")
        var result: (code: Int32, message: String)?
        let printed = try standardOutput {
            result = failure(["trace", "--ram-budget", "14MiB", "--hardware", "colab-t4", "--max-tokens", "12", "--out", out.path,
                              "--offload-store", scratch.url.appendingPathComponent("store").path])
        }
        #expect(result == nil, "\(result?.message ?? "")")
        let data = try Data(contentsOf: out.appendingPathComponent("real-summary.json"))
        let real = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let decode = String(format: "%.2f", try #require(real["decode_tokens_per_second"] as? Double))
        let line = try #require(printed.split(separator: "\n").first { $0.hasPrefix("real offloading: lru") }, "\(printed)")
        #expect(line.contains(" · decode \(decode) tokens/s · "), "\(line)")
        #expect(line.contains("tokens/s, prefill included)"), "\(line)")
        #expect(printed.contains("decode tokens/s: predicted "), "\(printed)")
        #expect(printed.contains("measured \(decode) (measured / predicted "), "\(printed)")
    }
}
