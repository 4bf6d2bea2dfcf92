import Foundation
import Testing
@testable import Checkpoints

/// Pipeline components other than Mixtral's own (Metaspace schemes and split, Split behaviours,
/// NFKC/NFC, ignore_merges, a non-special added token) against tokenizers' ids and decodes, and
/// the BPE rules on a tiny hand-made vocabulary.
struct TokenizerComponentTests {
    @Test(arguments: ["metaspace-split-first", "metaspace-never-nfkc", "split-behaviours", "merged-with-next-ignore-merges"])
    func variantMatchesTokenizers(name: String) throws {
        let tokenizer = try TokenizerFixtures.variant(name)
        let cases = try #require(TokenizerFixtures.variants.cases[name])
        #expect(cases.count >= 30)
        for testCase in cases {
            #expect(tokenizer.encode(testCase.text) == testCase.ids, "\(testCase.text.debugDescription)")
            if let decoded = testCase.decoded {
                #expect(tokenizer.decode(testCase.ids) == decoded, "\(testCase.text.debugDescription)")
            }
        }
    }

    /// A BPE tokenizer.json over "a", "b", "c", "x" with the given merges and model options.
    static func tiny(merges: Any, model extra: String = "") throws -> Tokenizer {
        let json = """
        {"model": {"type": "BPE", "vocab": {"<unk>": 0, "a": 1, "b": 2, "c": 3, "ab": 4, "bc": 5, "abc": 6, "<0x78>": 7},
                   "merges": \(String(decoding: try JSONSerialization.data(withJSONObject: merges), as: UTF8.self)),
                   "unk_token": "<unk>" \(extra)}}
        """
        return try Tokenizer(json: Data(json.utf8), source: "tiny.json")
    }

    @Test func mergesLoadInBothFormsAndRankByOrder() throws {
        for merges: Any in [["a b", "b c", "ab c"], [["a", "b"], ["b", "c"], ["ab", "c"]]] {
            #expect(try Self.tiny(merges: merges).encode("abc", addBOS: false) == [6])
        }
        // "b c" ranked first: "a" + "bc" has no merge, so "abc" is never formed.
        #expect(try Self.tiny(merges: ["b c", "a b", "ab c"]).encode("abc", addBOS: false) == [1, 5])
        #expect(try Self.tiny(merges: [["b", "c"], ["a", "b"], ["ab", "c"]]).encode("abcabc", addBOS: false) == [1, 5, 1, 5])
    }

    @Test func unknownsFuseOrNotAndByteFallbackNeedsEveryByte() throws {
        let merges = ["a b"]
        #expect(try Self.tiny(merges: merges, model: #", "fuse_unk": true"#).encode("aéé€b", addBOS: false) == [1, 0, 2])
        #expect(try Self.tiny(merges: merges).encode("aéb", addBOS: false) == [1, 0, 2])
        #expect(try Self.tiny(merges: merges).encode("aééb", addBOS: false) == [1, 0, 0, 2])
        // "x" is only reachable as the byte piece <0x78>; "é" (0xC3 0xA9) lacks its byte pieces.
        #expect(try Self.tiny(merges: merges, model: #", "byte_fallback": true"#).encode("xéab", addBOS: false) == [7, 0, 4])
        #expect(try Self.tiny(merges: merges).encode("xab", addBOS: false) == [0, 4])
    }

    @Test func ignoreMergesTakesWholeWordsFromTheVocabulary() throws {
        let merges = ["b c", "a b"]
        #expect(try Self.tiny(merges: merges).encode("abc", addBOS: false) == [1, 5])
        #expect(try Self.tiny(merges: merges, model: #", "ignore_merges": true"#).encode("abc", addBOS: false) == [6])
    }

    @Test func noPostProcessorMeansNoBOSWithoutAnSToken() throws {
        let tokenizer = try Self.tiny(merges: ["a b"])
        #expect(tokenizer.bosTokenID == nil && tokenizer.eosTokenID == nil && tokenizer.unknownTokenID == 0)
        #expect(tokenizer.encode("ab") == [4])
        #expect(tokenizer.decode([4, 1]) == "ab a")  // no decoder: pieces joined by spaces, as tokenizers does
        #expect(tokenizer.vocabularySize == 8)
    }
}
