import Testing
@testable import mixtral_lab

/// Prompt and sampling flags come from one option group each on every command that generates, and
/// `--precision` is parsed once, when the command line is.
struct OptionGroupTests {
    @Test(arguments: [
        ["generate", "--token-ids", "1,2,3", "--max-tokens", "2"],
        ["generate", "--top-k", "5", "--top-p", "0.9", "--temperature", "0.8", "--seed", "7"],
        ["trace", "--top-k", "5", "--top-p", "0.9", "--temperature", "0.8", "--seed", "7", "--out", "unused"],
        ["trace", "--token-ids", "1,2,3", "--out", "unused"],
        ["step", "--token-ids", "1,2,3"],
    ])
    func everyGeneratingCommandTakesTheSharedFlags(arguments: [String]) {
        #expect(throws: Never.self, "\(arguments)") { _ = try MixtralLab.parseAsRoot(arguments) }
    }

    @Test(arguments: [
        (["trace", "--top-k", "-1", "--out", "unused"], "--top-k must be ≥ 0"),
        (["trace", "--top-p", "0", "--out", "unused"], "--top-p must be in (0, 1]; got 0.0"),
        (["generate", "--token-ids", "1,x"], "--token-ids: \"x\" is not a token id"),
        (["generate", "--prompt", "x", "--token-ids", "1,2"], "give --prompt or --token-ids, not both"),
        (["compare", "--prompt", "x", "--token-ids", "1,2"], "give --prompt or --token-ids, not both"),
        (["trace", "--prompt", "x", "--token-ids", "1,2", "--out", "unused"], "give --prompt or --token-ids, not both"),
    ])
    func sharedFlagsAreCheckedAlike(arguments: [String], expected: String) {
        let result = failure(arguments)
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix(expected) == true, "\(arguments): \(result?.message ?? "no error")")
    }

    @Test(arguments: [["generate"], ["trace", "--out", "unused"], ["step"], ["logits", "--token-ids", "1"], ["plan"]])
    func aBadPrecisionIsAUsageErrorNamingTheFlag(command: [String]) {
        let result = failure(command + ["--precision", "q5"])
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("The value 'q5' is invalid for '--precision <spec>': ") == true, "\(command): \(result?.message ?? "no error")")
    }

    @Test func generateContinuesTokenIDs() {
        #expect(failure(["generate", "--token-ids", "1,2,3", "--max-tokens", "2"]) == nil)
    }
}
