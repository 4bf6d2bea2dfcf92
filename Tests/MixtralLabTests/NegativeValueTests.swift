import Testing

/// A negative number given as a separate argument (`--temperature -1`) reaches the option as its value
/// (`parsing: .unconditional`), so the user gets the range error naming the flag, not ArgumentParser's
/// "Missing value".
struct NegativeValueTests {
    @Test(arguments: [
        (["generate", "--temperature", "-1"], "--temperature must be ≥ 0"),
        (["generate", "--top-k", "-1"], "--top-k must be ≥ 0"),
        (["generate", "--top-p", "-0.5"], "--top-p must be in (0, 1]"),
        (["generate", "--max-tokens", "-3"], "--max-tokens must be at least 1"),
        (["generate", "--seed", "-1"], "'-1' is invalid for '--seed <seed>': not a seed: give a whole number from 0 to 18446744073709551615"),
        (["generate", "--cache-experts", "-1"], "--cache-experts must be ≥ 0"),
        (["generate", "--cache-bytes", "-1GiB"], "--cache-bytes"),
        (["generate", "--ram-budget", "-1GiB"], "--ram-budget"),
        (["trace", "--prefetch", "-2", "--out", "unused"], "--prefetch must be at least 1"),
        (["trace", "--lookahead", "-1", "--out", "unused"], "--lookahead must be at least 1"),
        (["trace", "--temperature", "-0.5", "--out", "unused"], "--temperature must be ≥ 0"),
        (["step", "--max-tokens", "-1"], "--max-tokens must be at least 1"),
        (["compare", "--heldout-tokens", "-1"], "--heldout-tokens must be ≥ 0"),
        (["bench", "--threads", "-2"], "--threads must be at least 1"),
        (["bench", "--prompt-tokens", "8,-64"], "--prompt-tokens 8,-64: \"-64\" is not a prompt length"),
        (["perplexity", "--window", "-5"], "--window must be at least 2"),
        (["perplexity", "--max-tokens", "-5"], "--max-tokens must be ≥ 0"),
        (["plan", "--hit-rate", "-0.1"], "--hit-rate must be between 0 and 1"),
        (["plan", "--context", "-1"], "--context must be at least 1"),
        (["lesson", "run", "6", "--cache-experts", "-1"], "--cache-experts must be ≥ 0"),
    ])
    func aNegativeValueGetsTheRangeError(arguments: [String], expected: String) {
        let result = failure(arguments)
        #expect(result?.code == 2)
        #expect(result?.message.contains(expected) == true, "\(arguments): \(result?.message ?? "no error")")
        #expect(result?.message.contains("Missing value") == false)
    }
}
