import Foundation
import Testing
@testable import Checkpoints

/// Malformed tokenizer.json files give typed errors naming the file and the problem.
struct TokenizerErrorTests {
    static let validModel = #""model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}"#

    static func load(_ json: String) throws -> Tokenizer {
        try Tokenizer(json: Data(json.utf8), source: "/models/broken/tokenizer.json")
    }

    /// The error of loading `json`, after checking its message names the file and `mentions`.
    static func error(of json: String, mentions: String) throws -> TokenizerError {
        let error = try #require(throws: TokenizerError.self) { try load(json) }
        #expect(error.description.contains("/models/broken/tokenizer.json"), "\(error)")
        #expect(error.description.contains(mentions), "\(error)")
        return error
    }

    @Test func notJSON() throws {
        guard case .notJSON = try Self.error(of: "version https://git-lfs.github.com/spec/v1", mentions: "JSON") else {
            Issue.record("expected notJSON"); return
        }
        guard case .notJSON = try Self.error(of: "[1, 2]", mentions: "array") else { Issue.record("expected notJSON"); return }
    }

    @Test func missingFile() throws {
        let url = URL(fileURLWithPath: "/nonexistent/tokenizer.json")
        let error = try #require(throws: TokenizerError.self) { try Tokenizer(contentsOf: url) }
        guard case .unreadable(let source, _) = error, source == url.path else { Issue.record("\(error)"); return }
    }

    @Test func missingVocabOrMerges() throws {
        guard case .missingKey(_, "model.vocab") = try Self.error(
            of: #"{"model": {"type": "BPE", "merges": []}}"#, mentions: "model.vocab") else { Issue.record("vocab"); return }
        guard case .missingKey(_, "model.merges") = try Self.error(
            of: #"{"model": {"type": "BPE", "vocab": {}}}"#, mentions: "model.merges") else { Issue.record("merges"); return }
        guard case .missingKey(_, "model") = try Self.error(of: "{}", mentions: "model") else { Issue.record("model"); return }
    }

    @Test func unknownComponentTypes() throws {
        let files = [
            (#"{"model": {"type": "WordPiece", "vocab": {}}}"#, "model.type", "WordPiece"),
            ("{\(Self.validModel), \"normalizer\": {\"type\": \"Lowercase\"}}", "normalizer.type", "Lowercase"),
            ("{\(Self.validModel), \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Precompiled\"}]}}",
             "normalizer.normalizers[0].type", "Precompiled"),
            ("{\(Self.validModel), \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}", "pre_tokenizer.type", "ByteLevel"),
            ("{\(Self.validModel), \"decoder\": {\"type\": \"WordPiece\"}}", "decoder.type", "WordPiece"),
            ("{\(Self.validModel), \"post_processor\": {\"type\": \"BertProcessing\"}}", "post_processor.type", "BertProcessing"),
        ]
        for (json, keyPath, type) in files {
            let error = try Self.error(of: json, mentions: keyPath)
            guard case .unknownType(_, keyPath, type, _) = error else { Issue.record("\(error)"); continue }
        }
    }

    @Test func mergeReferencingUnknownToken() throws {
        let error = try Self.error(of: #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}"#,
                                   mentions: "\"ab\"")
        guard case .mergeTokenNotInVocabulary(_, 0, "ab") = error else { Issue.record("\(error)"); return }
        let pairError = try Self.error(of: #"{"model": {"type": "BPE", "vocab": {"a": 0, "aa": 1, "ab": 2}, "merges": [["a", "a"], ["a", "b"]]}}"#,
                                       mentions: "merges[1]")
        guard case .mergeTokenNotInVocabulary(_, 1, "b") = pairError else { Issue.record("\(pairError)"); return }
        guard case .invalidValue = try Self.error(
            of: #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a a a"]}}"#, mentions: "merges[0]") else {
            Issue.record("three-part merge"); return
        }
    }

    @Test func unsupportedOptionsAndBadValues() throws {
        guard case .unsupported = try Self.error(
            of: #"{"model": {"type": "BPE", "vocab": {}, "merges": [], "dropout": 0.1}}"#, mentions: "dropout") else {
            Issue.record("dropout"); return
        }
        guard case .invalidValue = try Self.error(
            of: #"{"model": {"type": "BPE", "vocab": {}, "merges": [], "unk_token": "<unk>"}}"#, mentions: "unk_token") else {
            Issue.record("unk_token"); return
        }
        guard case .invalidValue = try Self.error(
            of: #"{"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}}"#, mentions: "model.vocab.a") else {
            Issue.record("vocab id"); return
        }
        guard case .invalidRegex = try Self.error(
            of: "{\(Self.validModel), \"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"Regex\": \"(\"}, \"content\": \"\"}}",
            mentions: "normalizer.pattern") else {
            Issue.record("regex"); return
        }
        guard case .unsupported = try Self.error(
            of: "{\(Self.validModel), \"added_tokens\": [{\"id\": 3, \"content\": \"[X]\", \"special\": false, \"normalized\": true}]}",
            mentions: "added_tokens[0].normalized") else {
            Issue.record("normalized added token"); return
        }
    }
}
