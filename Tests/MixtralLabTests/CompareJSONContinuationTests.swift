import Foundation
import Testing
@testable import mixtral_lab

/// `compare --format json` gives each continuation as generated — the ⟦ ⟧ marker is for the text
/// output only — with the first divergent token as an index beside it.
@Suite struct CompareJSONContinuationTests {
    private func compare(_ flags: [String]) throws -> String {
        // nf4 diverges from fp32 within 30 tokens on the embedded model (at token 8)
        try compareOutput(["--precisions", "nf4", "--max-tokens", "30", "--heldout-tokens", "0"] + flags)
    }

    @Test func jsonContinuationHasNoMarkerAndTheTextOutputHasIt() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(try compare(["--format", "json"]).utf8)) as? [String: Any])
        let nf4 = try #require((object["results"] as? [[String: Any]])?.first { $0["precision"] as? String == "nf4" })
        let continuation = try #require(nf4["continuation"] as? String)
        #expect(nf4["first_divergence"] as? Int != nil)
        #expect(!continuation.contains("⟦") && !continuation.contains("⟧"))
        let text = try compare([])
        #expect(text.contains("⟦"))
        // the text output's nf4 continuation is the JSON's with the marker added
        let marked = text.replacingOccurrences(of: "⟦", with: "").replacingOccurrences(of: "⟧", with: "")
        #expect(marked.contains(continuation))
    }
}
