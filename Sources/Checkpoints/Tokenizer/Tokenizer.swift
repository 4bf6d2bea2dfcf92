import Foundation

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
/// The tokenizer keeps no cache and no mutable state after loading, so one instance may be shared
/// across threads (its only reference-type member, `NSRegularExpression`, is documented thread-safe).
public final class Tokenizer: @unchecked Sendable {
    private let model: BPEModel
    private let addedVocabulary: AddedVocabulary
    private let normalizer: Normalizer?
    private let preTokenizer: PreTokenizer?
    private let decoder: TokenDecoder?
    private let template: TemplateProcessing?

    /// Loads `tokenizer.json` from `url`. Throws `TokenizerError` (`.unreadable` if the file cannot
    /// be read, otherwise as `init(json:source:)`).
    public convenience init(contentsOf url: URL) throws {
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
        model = try BPEModel(json: root.object("model"))
        addedVocabulary = try AddedVocabulary(json: root)
        normalizer = try root.optionalObject("normalizer").map(Normalizer.init(json:))
        preTokenizer = try root.optionalObject("pre_tokenizer").map(PreTokenizer.init(json:))
        decoder = try root.optionalObject("decoder").map(TokenDecoder.init(json:))
        template = try root.optionalObject("post_processor").map(TemplateProcessing.init(json:))
    }

    /// Number of token ids: one more than the largest id of the vocabulary and the added tokens
    /// (32000 for Mixtral), i.e. the rows an embedding table needs.
    public var vocabularySize: Int {
        max(model.pieces.count, (addedVocabulary.contentsByID.keys.max() ?? -1) + 1)
    }

    /// The token `encode(_:addBOS: true)` puts first: the first id of the post-processor's template,
    /// or, for a file without one, the token "<s>" (SentencePiece's BOS piece) if it exists.
    /// Mixtral: 1. A checkpoint's config.json `bos_token_id` should agree.
    public var bosTokenID: Int? {
        if let template { return template.prefixIDs.first }
        return id(of: "<s>")
    }

    /// The token "</s>" (SentencePiece's EOS piece; tokenizer.json does not name an EOS).
    /// Mixtral: 2. A checkpoint's config.json `eos_token_id` is authoritative.
    public var eosTokenID: Int? { id(of: "</s>") }

    /// The BPE model's `unk_token` (Mixtral: "<unk>", 0), nil if it has none.
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
        if let id = addedVocabulary.idsByContent[PieceKey(token)] { return id }
        return model.vocabulary[PieceKey(token)].map(Int.init)
    }

    private func piece(of id: Int) -> String? {
        if let content = addedVocabulary.contentsByID[id] { return content }
        guard id >= 0, id < model.pieces.count, !model.pieces[id].isEmpty else { return nil }
        return model.pieces[id]
    }
}
