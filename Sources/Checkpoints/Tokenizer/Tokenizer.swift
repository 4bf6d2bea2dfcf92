import Foundation
import FileChecks

/// A Hugging Face `tokenizer.json` with a BPE model, as Mixtral's tokenizer uses it: text →
/// token ids and back, following the file's own components (tokenizers' pipeline in
/// `tokenizer/mod.rs`):
///
/// encode: cut out non-special added tokens → `normalizer` → `pre_tokenizer` → BPE per piece →
/// (with `addBOS`) the `post_processor` template, or BOS when the file has none.
/// decode: ids → pieces (added tokens first, then the vocabulary) → `decoder` → joined.
///
/// Supported components: model BPE (merges as "a b" strings or ["a","b"] pairs, byte_fallback,
/// unk_token, fuse_unk, ignore_merges; dropout only null); normalizers Replace (String or Regex),
/// Prepend, NFC/NFD/NFKC/NFKD, Sequence; pre-tokenizers Metaspace, Split, Sequence; decoders Replace,
/// ByteFallback, Fuse, Strip, Metaspace, Sequence; post-processor TemplateProcessing. Anything else
/// is a `TokenizerError` at load time rather than a silently different tokenization.
///
/// Both Mixtral layouts in the wild give sentencepiece's ids: the Hub's (Prepend("▁") +
/// Replace(" ", "▁"), no pre-tokenizer) and transformers' conversion (Replace + Metaspace).
/// A GGUF file's SentencePiece vocabulary (`init(sentencePiece:)`) runs through the same machinery:
/// its merges are derived from the token scores and its normalizer and decoder are the Hub's.
/// The tokenizer keeps no cache and no mutable state after loading, so one instance may be shared
/// across threads (its only reference-type member, `NSRegularExpression`, is documented thread-safe).
public final class Tokenizer: Sendable {
    private let model: BPEModel
    private let addedVocabulary: AddedVocabulary
    private let normalizer: Normalizer?
    private let preTokenizer: PreTokenizer?
    private let decoder: TokenDecoder?
    private let template: TemplateProcessing?

    /// Loads `tokenizer.json` from `url`. Throws `TokenizerError` (`.unreadable` if the file cannot
    /// be read, otherwise as `init(json:source:)`).
    public convenience init(contentsOf url: URL) throws {
        if let problem = inputFileProblem(url.path) { throw TokenizerError.unreadable(source: url.path, reason: problem) }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadable(source: url.path, reason: error.localizedDescription)
        }
        try self.init(json: data, source: url.path)
    }

    /// Parses the contents of a `tokenizer.json`; `source` (its path) names the file in errors.
    /// Throws `TokenizerError`: `.notJSON`, `.missingKey` (for example `model.vocab`),
    /// `.unknownType` (a model, normalizer, pre-tokenizer, decoder or post-processor type not listed
    /// above), `.unsupported`, `.mergeTokenNotInVocabulary`, `.invalidRegex`, `.invalidValue`.
    public init(json: Data, source: String) throws {
        let root = try TokenizerJSON(parsing: json, source: source)
        let model = try BPEModel(json: root.object("model"))
        let addedVocabulary = try AddedVocabulary(json: root)
        let template = try root.optionalObject("post_processor").map(TemplateProcessing.init(json:))
        self.model = model
        self.addedVocabulary = addedVocabulary
        normalizer = try root.optionalObject("normalizer").map(Normalizer.init(json:))
        preTokenizer = try root.optionalObject("pre_tokenizer").map(PreTokenizer.init(json:))
        decoder = try root.optionalObject("decoder").map(TokenDecoder.init(json:))
        self.template = template
        if let template {
            bosTokenID = template.prefixIDs.first
        } else {
            bosTokenID = Self.id(of: "<s>", model: model, addedVocabulary: addedVocabulary)
        }
        eosTokenID = Self.id(of: "</s>", model: model, addedVocabulary: addedVocabulary)
    }

    /// A SentencePiece tokenizer from a GGUF file's `tokenizer.ggml.*` metadata (model "llama"),
    /// encoding as llama.cpp's `llm_tokenizer_spm` (`src/llama-vocab.cpp`) does: with
    /// `addSpacePrefix` a "▁" before the text, spaces → "▁", then the highest-scoring merges (see
    /// `BPEModel.init(sentencePiece:)`), byte tokens for characters that are no token; user-defined
    /// tokens (type 4) are cut out of the text first, control and unknown tokens (types 3, 2) count as
    /// special. `encode(_:addBOS: true)` adds `bosID` only if the vocabulary's `addBOS` is set.
    /// Decoding as the Hub's Mixtral tokenizer.json: "▁" → " ", byte runs → UTF-8, and with
    /// `addSpacePrefix` one leading space stripped. On Mixtral's vocabulary this gives the ids of the
    /// tokenizer.json path and of sentencepiece. `source` names the file in errors.
    /// Throws `TokenizerError.invalidValue` for an inconsistent vocabulary
    /// (see `SentencePieceVocabulary.validate(source:)`).
    public init(sentencePiece vocabulary: SentencePieceVocabulary, source: String = "GGUF tokenizer") throws {
        try vocabulary.validate(source: source)
        model = BPEModel(sentencePiece: vocabulary)
        var addedTokens: [(id: Int, content: String, special: Bool)] = []
        for (id, type) in vocabulary.tokenTypes.enumerated() where !vocabulary.tokens[id].isEmpty {
            switch SentencePieceVocabulary.TokenType(rawValue: type) {
            case .control, .unknown: addedTokens.append((id, vocabulary.tokens[id], true))
            case .userDefined: addedTokens.append((id, vocabulary.tokens[id], false))
            default: continue
            }
        }
        addedVocabulary = AddedVocabulary(tokens: addedTokens)
        let spaces = Normalizer.replace(.literal([" "]), content: "▁")
        normalizer = vocabulary.addSpacePrefix ? .sequence([.prepend("▁"), spaces]) : spaces
        preTokenizer = nil
        decoder = .sequence([.replace(.literal(["▁"]), content: " "), .byteFallback, .fuse]
                            + (vocabulary.addSpacePrefix ? [.strip(content: " ", start: 1, stop: 0)] : []))
        let bos = vocabulary.addBOS ? vocabulary.bosID : nil
        template = TemplateProcessing(prefixIDs: bos.map { [$0] } ?? [], suffixIDs: [])
        bosTokenID = vocabulary.bosID
        eosTokenID = vocabulary.eosID
    }

    /// Number of token ids: one more than the largest id of the vocabulary and the added tokens
    /// (32000 for Mixtral), i.e. the rows an embedding table needs.
    public var vocabularySize: Int {
        max(model.pieces.count, (addedVocabulary.contentsByID.keys.max() ?? -1) + 1)
    }

    /// The beginning-of-sequence token. tokenizer.json: the first id of the post-processor's
    /// template, or, for a file without one, the token "<s>" (SentencePiece's BOS piece) if it exists;
    /// GGUF: `tokenizer.ggml.bos_token_id`. Mixtral: 1. A checkpoint's config.json `bos_token_id`
    /// should agree.
    public let bosTokenID: Int?

    /// The end-of-sequence token. tokenizer.json: the token "</s>" (SentencePiece's EOS piece;
    /// tokenizer.json does not name an EOS); GGUF: `tokenizer.ggml.eos_token_id`. Mixtral: 2.
    /// A checkpoint's config.json `eos_token_id` is authoritative.
    public let eosTokenID: Int?

    /// The BPE model's `unk_token` or GGUF's `tokenizer.ggml.unknown_token_id` (Mixtral: "<unk>", 0),
    /// nil if there is none.
    public var unknownTokenID: Int? { model.unknownID.map(Int.init) }

    /// Token ids of `text`. Special tokens written in the text ("<s>") are plain text.
    /// With `addBOS`, the post-processor's single template is applied ("<s> $A" for Mixtral: BOS
    /// first); a file without a post-processor gets `bosTokenID` prepended if there is one.
    /// Mixtral: "Hello world" → [1, 22557, 1526]; "\n" → [1, 28705, 13].
    public func encode(_ text: String, addBOS: Bool = true) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 2)
        for segment in addedVocabulary.split(text) {
            switch segment {
            case .token(let id):
                ids.append(id)
            case let .text(segmentText, startsAtTextStart):
                let normalized = normalizer?.normalize(segmentText) ?? segmentText
                guard !normalized.isEmpty else { continue }
                let piece = PreToken(text: normalized, startsAtTextStart: startsAtTextStart)
                for word in preTokenizer?.preTokenize([piece]) ?? [piece] {
                    model.tokenize(word.text, into: &ids)
                }
            }
        }
        guard addBOS else { return ids }
        if let template { return template.apply(to: ids) }
        if let bosTokenID { return [bosTokenID] + ids }
        return ids
    }

    /// The text of `ids`, through the file's decoder (Mixtral: "▁" → " ", `<0xNN>` runs → UTF-8,
    /// one leading space stripped). A byte run that is not valid UTF-8 gives one U+FFFD per byte,
    /// as tokenizers' ByteFallback decoder does. Ids outside the vocabulary are skipped; special
    /// tokens ("<s>", "</s>") appear as their text unless `skipSpecialTokens`.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var pieces: [String] = []
        pieces.reserveCapacity(ids.count)
        for id in ids {
            guard let piece = piece(of: id) else { continue }
            if skipSpecialTokens && addedVocabulary.specialContents.contains(PieceKey(piece)) { continue }
            pieces.append(piece)
        }
        guard let decoder else { return pieces.joined(separator: " ") }
        return decoder.decode(pieces).joined()
    }

    /// The raw piece of `id` as the file spells it ("▁the", "<0x0A>", "<s>"); "" for an id outside
    /// the vocabulary.
    public func tokenString(_ id: Int) -> String { piece(of: id) ?? "" }

    /// The id of a piece spelled exactly `token` (added tokens first, then the vocabulary).
    public func id(of token: String) -> Int? {
        Self.id(of: token, model: model, addedVocabulary: addedVocabulary)
    }

    private static func id(of token: String, model: BPEModel, addedVocabulary: AddedVocabulary) -> Int? {
        if let id = addedVocabulary.idsByContent[PieceKey(token)] { return id }
        return model.vocabulary[PieceKey(token)].map(Int.init)
    }

    private func piece(of id: Int) -> String? {
        if let content = addedVocabulary.contentsByID[id] { return content }
        guard id >= 0, id < model.pieces.count, !model.pieces[id].isEmpty else { return nil }
        return model.pieces[id]
    }
}
