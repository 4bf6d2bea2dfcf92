/// A SentencePiece ("llama") vocabulary as a GGUF file stores it in its `tokenizer.ggml.*` metadata
/// (llama.cpp `gguf-py/gguf/constants.py` `Keys.Tokenizer`; written by `convert_hf_to_gguf.py`
/// `_create_vocab_sentencepiece` from a `tokenizer.model`). `Tokenizer(sentencePiece:)` turns it into a
/// tokenizer that encodes as llama.cpp's `llm_tokenizer_spm` (`src/llama-vocab.cpp`) does.
public struct SentencePieceVocabulary: Sendable {
    /// `tokenizer.ggml.token_type` values (llama.cpp `llama_token_type`, gguf-py `TokenType`).
    public enum TokenType: Int32, Sendable {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// `tokenizer.ggml.tokens`: piece of each id ("▁the", "<0x0A>", "<s>"); [vocabularySize].
    public var tokens: [String]
    /// `tokenizer.ggml.scores`: the piece's score, [vocabularySize]; of two mergeable neighbours the
    /// pair whose merged piece scores highest merges first (sentencepiece: −(merge rank), 0 for
    /// control and byte pieces).
    public var scores: [Float]
    /// `tokenizer.ggml.token_type`: `TokenType` raw values, [vocabularySize].
    public var tokenTypes: [Int32]
    /// `tokenizer.ggml.bos_token_id`, `eos_token_id`, `unknown_token_id` (Mixtral: 1, 2, 0).
    public var bosID: Int?
    public var eosID: Int?
    public var unknownID: Int?
    /// `tokenizer.ggml.add_bos_token` (llama.cpp's default for SentencePiece: true).
    public var addBOS: Bool
    /// `tokenizer.ggml.add_space_prefix` (llama.cpp's default for SentencePiece: true): a "▁" is
    /// put before the text and after each user-defined token, like sentencepiece's
    /// `add_dummy_prefix`.
    public var addSpacePrefix: Bool

    public init(tokens: [String], scores: [Float], tokenTypes: [Int32], bosID: Int?, eosID: Int?,
                unknownID: Int?, addBOS: Bool = true, addSpacePrefix: Bool = true) {
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.addBOS = addBOS
        self.addSpacePrefix = addSpacePrefix
    }

    /// Throws `TokenizerError.invalidValue` (naming the `tokenizer.ggml.*` key, `source` being the
    /// file) when the vocabulary is empty, the three arrays differ in length, a score is NaN, a token
    /// type is not 0…6, or a BOS/EOS/unknown id is outside the vocabulary.
    func validate(source: String) throws {
        func invalid(_ key: String, _ problem: String) -> TokenizerError {
            .invalidValue(source: source, keyPath: "tokenizer.ggml." + key, problem: problem)
        }
        guard !tokens.isEmpty else { throw invalid("tokens", "empty vocabulary") }
        guard scores.count == tokens.count else {
            throw invalid("scores", "\(scores.count) scores for \(tokens.count) tokens")
        }
        guard tokenTypes.count == tokens.count else {
            throw invalid("token_type", "\(tokenTypes.count) token types for \(tokens.count) tokens")
        }
        if let id = scores.firstIndex(where: \.isNaN) { throw invalid("scores", "score of token \(id) is NaN") }
        if let id = tokenTypes.firstIndex(where: { TokenType(rawValue: $0) == nil }) {
            throw invalid("token_type", "token \(id) has type \(tokenTypes[id]) (expected 0…6)")
        }
        for (key, id) in [("bos_token_id", bosID), ("eos_token_id", eosID), ("unknown_token_id", unknownID)] {
            if let id, !tokens.indices.contains(id) {
                throw invalid(key, "id \(id) is outside the vocabulary of \(tokens.count) tokens")
            }
        }
    }
}
