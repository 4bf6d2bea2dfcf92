import Foundation
import Testing
@testable import Checkpoints

/// `Tokenizer(sentencePiece:)` — a GGUF file's SentencePiece vocabulary — against llama.cpp's
/// tokenizer on Mixtral's real vocabulary, against the tokenizer.json path, and on small
/// vocabularies whose merges are worked out by hand.
struct SentencePieceTokenizerTests {
    let tokenizer = SentencePieceFixtures.mixtral

    @Test func idsEqualLlamaCpp() {
        let cases = SentencePieceFixtures.fixture.cases
        #expect(cases.count == TokenizerFixtures.cases.cases.count)
        var mismatches: [String] = []
        for testCase in cases where tokenizer.encode(testCase.text) != testCase.ids {
            mismatches.append("\(testCase.text.debugDescription): \(tokenizer.encode(testCase.text)) ≠ \(testCase.ids)")
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(3))")
    }

    /// Every score equal (a GGUF converted from tokenizer.json alone): llama.cpp merges the leftmost
    /// mergeable pair first, and so must we — ids that differ from sentencepiece's on many strings.
    @Test func idsEqualLlamaCppWhenAllScoresAreEqual() throws {
        let tokenizer = try Tokenizer(sentencePiece: SentencePieceFixtures.mixtralLlamaHFVocabulary)
        let cases = SentencePieceFixtures.fixture.llama_hf.cases
        var mismatches: [String] = []
        for testCase in cases where tokenizer.encode(testCase.text) != testCase.ids {
            mismatches.append("\(testCase.text.debugDescription): \(tokenizer.encode(testCase.text)) ≠ \(testCase.ids)")
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(3))")
        let differingFromSentencepiece = zip(cases, TokenizerFixtures.cases.cases).filter { $0.ids != $1.ids }.count
        #expect(differingFromSentencepiece > 50)
    }

    @Test func idsAndTextEqualTheTokenizerJSONPath() {
        let json = TokenizerFixtures.mixtral
        for testCase in TokenizerFixtures.cases.cases {
            #expect(tokenizer.encode(testCase.text) == json.encode(testCase.text), "\(testCase.text.debugDescription)")
            #expect(tokenizer.encode(testCase.text, addBOS: false) == json.encode(testCase.text, addBOS: false))
            #expect(tokenizer.decode(testCase.ids) == json.decode(testCase.ids))
            #expect(tokenizer.decode(testCase.ids, skipSpecialTokens: true) == json.decode(testCase.ids, skipSpecialTokens: true))
        }
        for decodeCase in TokenizerFixtures.cases.decode_cases {
            #expect(tokenizer.decode(decodeCase.ids) == decodeCase.text, "\(decodeCase.ids)")
            #expect(tokenizer.decode(decodeCase.ids, skipSpecialTokens: true) == decodeCase.text_skipping_special)
        }
    }

    @Test func specialTokensAndVocabulary() {
        #expect(tokenizer.vocabularySize == 32000)
        #expect(tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2 && tokenizer.unknownTokenID == 0)
        #expect(tokenizer.tokenString(13) == "<0x0A>" && tokenizer.tokenString(22557) == "▁Hello")
        #expect(tokenizer.id(of: "▁Hello") == 22557 && tokenizer.id(of: "</s>") == 2)
        #expect(tokenizer.encode("Hello world") == [1, 22557, 1526])
        #expect(tokenizer.encode("", addBOS: false) == [])
    }

    @Test func flagsOfTheMetadata() throws {
        var vocabulary = SentencePieceFixtures.mixtralVocabulary
        vocabulary.addBOS = false
        #expect(try Tokenizer(sentencePiece: vocabulary).encode("Hello world") == [22557, 1526])
        vocabulary.addSpacePrefix = false
        let noPrefix = try Tokenizer(sentencePiece: vocabulary)
        for text in ["Hello world", "\n", "  two", "日本語"] {
            #expect(noPrefix.encode(" " + text) == tokenizer.encode(text, addBOS: false))
        }
        #expect(noPrefix.encode("Hello") != tokenizer.encode("Hello", addBOS: false))
        #expect(noPrefix.decode(noPrefix.encode(" one")) == " one")
    }

    /// <unk>, <s>, </s>, the 256 byte tokens <0x00>…<0xFF> (ids 3…258), then `pieces` from id 259,
    /// then `userDefined`.
    static func smallVocabulary(_ pieces: [(String, Float)], userDefined: [String] = [],
                                addSpacePrefix: Bool = false) -> SentencePieceVocabulary {
        let bytes = (0...255).map { String(format: "<0x%02X>", $0) }
        let tokens = ["<unk>", "<s>", "</s>"] + bytes + pieces.map(\.0) + userDefined
        let scores = [Float](repeating: 0, count: 259) + pieces.map(\.1) + userDefined.map { _ in -1000 }
        let types = [Int32]([2, 3, 3]) + [Int32](repeating: 6, count: 256) + pieces.map { _ in 1 }
            + userDefined.map { _ in 4 }
        return SentencePieceVocabulary(tokens: tokens, scores: scores, tokenTypes: types, bosID: 1, eosID: 2,
                                       unknownID: 0, addBOS: false, addSpacePrefix: addSpacePrefix)
    }

    @Test func theHighestScoringPairMergesFirst() throws {
        // ids: a 259, b 260, ab 261, ba 262
        let abFirst = try Tokenizer(sentencePiece: Self.smallVocabulary([("a", -9), ("b", -9), ("ab", -1), ("ba", -2)]))
        #expect(abFirst.encode("bab") == [260, 261])
        let baFirst = try Tokenizer(sentencePiece: Self.smallVocabulary([("a", -9), ("b", -9), ("ab", -2), ("ba", -1)]))
        #expect(baFirst.encode("bab") == [262, 260])
    }

    @Test func equalScoresMergeLeftmostAndMergedPiecesMergeAgain() throws {
        // ids: a 259, aa 260, aaaa 261
        let tokenizer = try Tokenizer(sentencePiece: Self.smallVocabulary([("a", -9), ("aa", -1), ("aaaa", -3)]))
        #expect(tokenizer.encode("aaa") == [260, 259])
        #expect(tokenizer.encode("aaaaa") == [261, 259])
        #expect(tokenizer.encode("aaaaaaa") == [261, 260, 259])
    }

    @Test func charactersWithoutATokenBecomeByteTokens() throws {
        let tokenizer = try Tokenizer(sentencePiece: Self.smallVocabulary([("a", -9)]))
        #expect(tokenizer.encode("aéa") == [259, 3 + 0xC3, 3 + 0xA9, 259])
        #expect(tokenizer.decode([259, 3 + 0xC3, 3 + 0xA9, 259]) == "aéa")
    }

    @Test func userDefinedTokensAreCutOutAndTheTextAfterThemGetsASpacePrefix() throws {
        // ids: ▁ 259, x 260, y 261, ▁x 262, ▁y 263, <tool> 264
        let tokenizer = try Tokenizer(sentencePiece: Self.smallVocabulary(
            [("▁", -9), ("x", -9), ("y", -9), ("▁x", -1), ("▁y", -1)], userDefined: ["<tool>"], addSpacePrefix: true))
        #expect(tokenizer.encode("x<tool>y") == [262, 264, 263])
        #expect(tokenizer.encode("<tool>") == [264])
        #expect(tokenizer.decode([262, 264, 263]) == "x<tool> y")
    }

    @Test func inconsistentVocabulariesAreErrors() {
        var vocabulary = Self.smallVocabulary([("a", -1)])
        vocabulary.scores.removeLast()
        #expect(throws: TokenizerError.self) { try Tokenizer(sentencePiece: vocabulary) }
        vocabulary = Self.smallVocabulary([("a", -1)])
        vocabulary.tokenTypes[5] = 9
        #expect(throws: TokenizerError.self) { try Tokenizer(sentencePiece: vocabulary) }
        vocabulary = Self.smallVocabulary([("a", -1)])
        vocabulary.scores[4] = .nan
        #expect(throws: TokenizerError.self) { try Tokenizer(sentencePiece: vocabulary) }
        vocabulary = Self.smallVocabulary([("a", -1)])
        vocabulary.bosID = 260
        do {
            _ = try Tokenizer(sentencePiece: vocabulary, source: "model.gguf")
            Issue.record("a BOS id outside the vocabulary was accepted")
        } catch {
            #expect("\(error)" == "model.gguf: tokenizer.ggml.bos_token_id: id 260 is outside the vocabulary of 260 tokens")
        }
        #expect(throws: TokenizerError.self) {
            try Tokenizer(sentencePiece: SentencePieceVocabulary(tokens: [], scores: [], tokenTypes: [], bosID: nil,
                                                                  eosID: nil, unknownID: nil))
        }
    }
}
