import Testing
@testable import mixtral_lab

/// `--prefetch` and `--lookahead` set lru+prefetch's guesses; with any other policy they would be ignored,
/// so they are refused naming both flags — except where the policy does not decide alone (`trace --sweep`
/// runs lru+prefetch among the others; `lesson run` hands them to the lesson's experiments).
struct PrefetchFlagTests {
    @Test(arguments: [
        (["trace", "--policy", "lru", "--prefetch", "2", "--out", "unused"],
         "--prefetch 2 applies only to --policy lru+prefetch, but --policy is lru; give --policy lru+prefetch or leave it out"),
        (["generate", "--lookahead", "2"],
         "--lookahead 2 applies only to --policy lru+prefetch, but the default policy is lru; give --policy lru+prefetch or leave it out"),
        (["compare", "--policy", "resident", "--prefetch", "2", "--lookahead", "1"],
         "--prefetch 2 and --lookahead 1 apply only to --policy lru+prefetch, but --policy is resident; give --policy lru+prefetch or leave them out"),
        (["step", "--policy", "lfu", "--prefetch", "3"],
         "--prefetch 3 applies only to --policy lru+prefetch, but --policy is lfu; give --policy lru+prefetch or leave it out"),
    ])
    func prefetchFlagsWithAnotherPolicyAreRefused(arguments: [String], expected: String) {
        let result = failure(arguments)
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix(expected + " (See '") == true, "\(arguments): \(result?.message ?? "no error")")
    }

    @Test(arguments: [
        ["trace", "--policy", "lru+prefetch", "--prefetch", "3", "--lookahead", "2", "--out", "unused"],
        ["trace", "--sweep", "--policy", "lru", "--prefetch", "3", "--out", "unused"],
        ["lesson", "run", "7", "--prefetch", "3"],
        ["generate", "--policy", "lru+prefetch", "--prefetch", "1"],
    ])
    func prefetchFlagsAreTakenWhereTheyAreUsed(arguments: [String]) {
        #expect(throws: Never.self, "\(arguments)") { _ = try MixtralLab.parseAsRoot(arguments) }
    }
}
