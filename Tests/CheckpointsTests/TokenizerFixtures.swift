import Foundation
@testable import Checkpoints

/// The committed tokenizer fixtures (made by tools/make_tokenizer_fixtures.py).
enum TokenizerFixtures {
    static let directory = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/tokenizer")
    static let mixtralURL = directory.appendingPathComponent("mixtral-tokenizer.json")

    struct Case: Decodable { let text: String; let ids: [Int]; let decoded: String? }
    struct DecodeCase: Decodable { let ids: [Int]; let text: String; let text_skipping_special: String }
    struct Cases: Decodable { let cases: [Case]; let decode_cases: [DecodeCase] }
    struct Variants: Decodable {
        struct Variant: Decodable { let merges_as_strings: Bool }
        let variants: [String: Variant]
        let cases: [String: [Case]]
    }

    static let cases: Cases = load("cases.json")
    static let variants: Variants = load("variants.json")
    /// The Mixtral tokenizer as converted by transformers (Replace + Metaspace, merges as pairs).
    static let mixtral: Tokenizer = try! Tokenizer(contentsOf: mixtralURL)

    /// mixtral-tokenizer.json parsed, for the variants (`[String: Any]` is not `Sendable`, so not a stored static).
    static var mixtralRoot: [String: Any] { try! TokenizerJSON.jsonObject(from: Data(contentsOf: mixtralURL)) as! [String: Any] }

    static func load<T: Decodable>(_ name: String) -> T {
        try! JSONDecoder().decode(T.self, from: Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// mixtral-tokenizer.json with the top-level keys of variant `name` replaced (its "model" entry
    /// updates model fields, "added_tokens_extra" extends added_tokens) and, if the variant says so,
    /// the merges rewritten as "left right" strings.
    static func variant(_ name: String) throws -> Tokenizer {
        let variantsJSON = try TokenizerJSON.jsonObject(
            from: Data(contentsOf: directory.appendingPathComponent("variants.json"))) as! [String: Any]
        let variant = (variantsJSON["variants"] as! [String: Any])[name] as! [String: Any]
        var root = mixtralRoot
        var model = root["model"] as! [String: Any]
        for (key, value) in variant["overrides"] as! [String: Any] {
            switch key {
            case "model": model.merge(value as! [String: Any]) { $1 }
            case "added_tokens_extra": root["added_tokens"] = (root["added_tokens"] as! [Any]) + (value as! [Any])
            default: root[key] = value
            }
        }
        if (variant["merges_as_strings"] as! NSNumber).boolValue {
            model["merges"] = (model["merges"] as! [[String]]).map { $0.joined(separator: " ") }
        }
        root["model"] = model
        return try Tokenizer(json: JSONSerialization.data(withJSONObject: root), source: "\(name) variant")
    }
}
