import Foundation
import Testing
import Offloading
@testable import mixtral_lab

/// `--policy` and the size flags are parsed once, when the arguments are, into `PolicySpec` and
/// `SizeArgument`; a bad value is the parser's usage error naming the flag (exit 2), before anything runs.
@Suite struct ParsedOptionTests {
    @Test(arguments: [
        (["generate", "--policy", "fifo"], "The value 'fifo' is invalid for '--policy <policy>': "),
        (["trace", "--policy", "LRU", "--out", "unused"], "The value 'LRU' is invalid for '--policy <policy>': "),
        (["generate", "--cache-bytes", "lots"], "The value 'lots' is invalid for '--cache-bytes <size>': "),
        (["generate", "--ram-budget", "12XB"], "The value '12XB' is invalid for '--ram-budget <size>': "),
        (["plan", "--ram", "many"], "The value 'many' is invalid for '--ram <size>': "),
        (["plan", "--reserve", "-1GiB"], "The value '-1GiB' is invalid for '--reserve <size>': "),
        (["hardware", "probe", "--file-size", "lots"], "The value 'lots' is invalid for '--file-size <size>': "),
        // sizes are whole bytes (the message says: a number with a unit, or a whole number of bytes)
        (["generate", "--cache-bytes", "1.5"], "The value '1.5' is invalid for '--cache-bytes <size>': --cache-bytes 1.5: not a size; "),
        (["generate", "--cache-bytes", "0.0001KiB"], "The value '0.0001KiB' is invalid for '--cache-bytes <size>': --cache-bytes 0.0001KiB: less than one byte"),
    ])
    func aBadValueIsAUsageErrorNamingTheFlag(arguments: [String], expected: String) {
        let result = failure(arguments)
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix(expected) == true, "\(arguments): \(result?.message ?? "no error")")
    }

    @Test func valuesArriveTyped() throws {
        let generate = try #require(try MixtralLab.parseAsRoot(["generate", "--policy", "lru+prefetch", "--prefetch", "3",
                                                                 "--cache-bytes", "2GiB", "--ram-budget", "512MiB"]) as? Generate)
        #expect(generate.offloading.policySpec == .lruPrefetch(PrefetchSettings(experts: 3, lookahead: 1)))
        #expect(generate.offloading.cacheSize == .bytes(2 << 30))
        #expect(generate.ramBudget.ramBudget?.bytes == 512 << 20 && generate.ramBudget.ramBudget?.text == "512MiB")
        let plain = try #require(try MixtralLab.parseAsRoot(["generate"]) as? Generate)
        #expect(plain.offloading.policySpec == .lru && plain.offloading.policy == nil)
        let plan = try #require(try MixtralLab.parseAsRoot(["plan", "--ram", "16GiB"]) as? Plan)
        #expect(plan.ram?.bytes == 16 << 30 && plan.vram.bytes == 0 && plan.reserve.bytes == 2 << 30)
    }

    /// `compare` continues `--token-ids` like every other generating command (`PromptOptions`).
    @Test func compareTakesTokenIDs() throws {
        func run(_ prompt: [String]) throws -> String {
            let arguments = ["compare", "--precisions", "q4", "--max-tokens", "2", "--heldout-tokens", "0"] + prompt
            let command = try #require(try MixtralLab.parseAsRoot(arguments) as? Compare)
            var printed: [String] = []
            try command.run { printed.append($0) }
            // The continuations, before the table (whose speeds vary from run to run).
            return printed.prefix { !$0.isEmpty }.joined(separator: "\n")
        }
        // "ROMEO:\n" given as its token ids continues exactly as the text does.
        let command = try #require(try MixtralLab.parseAsRoot(["compare"]) as? Compare)
        let ids = try command.modelOptions.tokenizer().encode("ROMEO:\n", addBOS: true)
        #expect(try run(["--token-ids", ids.map(String.init).joined(separator: ",")]) == (try run(["--prompt", "ROMEO:\n"])))
        #expect(failure(["compare", "--token-ids", "1,x"])?.code == 2)
    }
}
