import UserInput

/// Why a `tokenizer.json` (or a GGUF file's `tokenizer.ggml.*` vocabulary) could not be loaded.
/// Every case names the file (`source`) and, where there is one, the key path of the problem (for
/// example `model.merges[17]` or `tokenizer.ggml.scores`).
public enum TokenizerError: UserInputError {
    /// The file could not be read at all.
    case unreadable(source: String, reason: String)
    /// The file is not JSON, or its top level is not an object.
    case notJSON(source: String, reason: String)
    /// A required key is absent.
    case missingKey(source: String, keyPath: String)
    /// A key holds a value of the wrong kind or an impossible value.
    case invalidValue(source: String, keyPath: String, problem: String)
    /// A component (`model`, normalizer, pre-tokenizer, decoder, post-processor) has a `type` this
    /// implementation does not know.
    case unknownType(source: String, keyPath: String, type: String, supported: [String])
    /// A known component uses an option this implementation does not implement (for example BPE
    /// dropout); refused rather than silently tokenizing differently from Hugging Face.
    case unsupported(source: String, keyPath: String, reason: String)
    /// A merge names a token (or produces a merged token) that is not in `model.vocab`.
    case mergeTokenNotInVocabulary(source: String, mergeIndex: Int, token: String)
    /// A `{"Regex": …}` pattern that does not compile.
    case invalidRegex(source: String, keyPath: String, pattern: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(source, reason):
            return "\(source): cannot read tokenizer file: \(reason)"
        case let .notJSON(source, reason):
            return "\(source): not a tokenizer.json (expected a JSON object): \(reason)"
        case let .missingKey(source, keyPath):
            return "\(source): missing key \"\(keyPath)\""
        case let .invalidValue(source, keyPath, problem):
            return "\(source): \(keyPath): \(problem)"
        case let .unknownType(source, keyPath, type, supported):
            return "\(source): \(keyPath): unknown type \"\(type)\" (supported: \(supported.joined(separator: ", ")))"
        case let .unsupported(source, keyPath, reason):
            return "\(source): \(keyPath): unsupported: \(reason)"
        case let .mergeTokenNotInVocabulary(source, mergeIndex, token):
            return "\(source): model.merges[\(mergeIndex)]: token \"\(token)\" is not in model.vocab"
        case let .invalidRegex(source, keyPath, pattern, reason):
            return "\(source): \(keyPath): invalid regex \"\(pattern)\": \(reason)"
        }
    }
}
