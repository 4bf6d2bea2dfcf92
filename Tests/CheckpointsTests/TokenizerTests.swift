import Foundation
import Testing
@testable import Checkpoints

/// Mixtral-8x7B's real tokenizer against sentencepiece's ids and tokenizers' decodes.
struct TokenizerTests {
    let tokenizer = TokenizerFixtures.mixtral

    @Test func corpusIsLargeAndVaried() {
        let texts = TokenizerFixtures.cases.cases.map(\.text)
        #expect(texts.count >= 200)
        #expect(texts.contains("") && texts.contains("\n") && texts.contains("<s>"))
    }

    @Test(arguments: ["converted", "hub-style"])
    func idsEqualSentencepiece(form: String) throws {
        let tokenizer = form == "converted" ? self.tokenizer : try TokenizerFixtures.variant(form)
        var mismatches: [String] = []
        for testCase in TokenizerFixtures.cases.cases where tokenizer.encode(testCase.text) != testCase.ids {
            mismatches.append("\(testCase.text.debugDescription): \(tokenizer.encode(testCase.text)) ≠ \(testCase.ids)")
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(3))")
    }

    @Test func decodeMatchesTokenizersAndRoundTrips() {
        for testCase in TokenizerFixtures.cases.cases {
            #expect(tokenizer.decode(testCase.ids) == testCase.decoded, "\(testCase.text.debugDescription)")
            // sentencepiece semantics: the dummy-prefix space is stripped, "▁" written in text reads back as " ".
            let expected = testCase.text.replacingOccurrences(of: "▁", with: " ")
            #expect(tokenizer.decode(testCase.ids, skipSpecialTokens: true) == expected)
            #expect(tokenizer.decode(tokenizer.encode(testCase.text, addBOS: false)) == expected)
        }
    }

    @Test func decodeCasesMatchTokenizers() {
        for decodeCase in TokenizerFixtures.cases.decode_cases {
            #expect(tokenizer.decode(decodeCase.ids) == decodeCase.text, "\(decodeCase.ids)")
            #expect(tokenizer.decode(decodeCase.ids, skipSpecialTokens: true) == decodeCase.text_skipping_special,
                    "\(decodeCase.ids)")
        }
    }

    @Test func examplesFromTheNotes() {
        #expect(tokenizer.encode("\n", addBOS: false) == [28705, 13])
        #expect(tokenizer.encode("Hello world", addBOS: false) == [22557, 1526])
        #expect(tokenizer.encode("Hello world") == [1, 22557, 1526])
        #expect(tokenizer.encode(" one", addBOS: false) == [28705, 624])
        #expect(tokenizer.encode("") == [1])
        #expect(tokenizer.encode("", addBOS: false) == [])
    }

    @Test func specialTokensAndVocabulary() {
        #expect(tokenizer.vocabularySize == 32000)
        #expect(tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2 && tokenizer.unknownTokenID == 0)
        #expect(tokenizer.tokenString(13) == "<0x0A>")
        #expect(tokenizer.tokenString(1) == "<s>")
        #expect(tokenizer.tokenString(22557) == "▁Hello")
        #expect(tokenizer.tokenString(32000) == "")
        #expect(tokenizer.id(of: "▁Hello") == 22557 && tokenizer.id(of: "<0xE2>") == 229 && tokenizer.id(of: "nope ") == nil)
        // A literal "<s>" in user text is text, as in sentencepiece.
        #expect(tokenizer.encode("<s>", addBOS: false) == [523, 28713, 28767])
    }

    @Test func byteFallbackDecoding() throws {
        let byte = { (value: UInt8) in try #require(self.tokenizer.id(of: BPEModel.bytePiece(value))) }
        #expect(tokenizer.decode([try byte(0x0A)]) == "\n")
        #expect(tokenizer.decode([try byte(0xE2), try byte(0x82), try byte(0xAC)]) == "€")
        #expect(tokenizer.decode([try byte(0xE2)]) == "\u{FFFD}")
        // tokenizers: a run that is not valid UTF-8 as a whole gives one U+FFFD per byte.
        #expect(tokenizer.decode([try byte(0xE2), try byte(0x82), try byte(0xAC), try byte(0xE2)])
                == String(repeating: "\u{FFFD}", count: 4))
        #expect(tokenizer.encode("€🦫", addBOS: false).map(tokenizer.tokenString)
                == ["▁€", "<0xF0>", "<0x9F>", "<0xA6>", "<0xAB>"])
    }
}
