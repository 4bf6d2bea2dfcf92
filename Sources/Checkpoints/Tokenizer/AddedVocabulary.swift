/// The `added_tokens` of a tokenizer.json (tokenizers, `tokenizer/added_vocabulary.rs`).
///
/// Special tokens (`<s>`, `</s>`, `<unk>`) are never matched inside user text — a literal "<s>" is
/// tokenized as text, as sentencepiece does (tokenizers' `encode_special_tokens = true`); they
/// only come from the post-processor or the caller. Non-special added tokens are cut out of the raw
/// text wherever they occur (leftmost, then longest) and the text between them is tokenized
/// separately.
struct AddedVocabulary {
    /// One piece of user text after cutting out non-special added tokens.
    enum Segment {
        case text(String, startsAtTextStart: Bool)
        case token(Int)
    }

    /// content → id and id → content for every added token.
    let idsByContent: [PieceKey: Int]
    let contentsByID: [Int: String]
    /// Contents of the special tokens (decode can skip these).
    let specialContents: Set<PieceKey>
    /// Non-special tokens as scalars, longest first.
    private let matchable: [(scalars: [Unicode.Scalar], id: Int)]

    /// Reads the `added_tokens` array (absent or null means none). Throws `TokenizerError`:
    /// `.unsupported` for a non-special token with `normalized`, `single_word`, `lstrip` or `rstrip`
    /// set (tokenizers matches those against normalized text or with extra rules, not implemented),
    /// `.invalidValue` for a missing id/content, a negative id or an empty content.
    init(json: TokenizerJSON) throws {
        var tokens: [(id: Int, content: String, special: Bool)] = []
        let entries = json.isNull("added_tokens") ? [] : try json.objects("added_tokens")
        for entry in entries {
            let id = try entry.int("id"), content = try entry.string("content")
            guard id >= 0 else { throw entry.invalid("id", "negative id \(id)") }
            guard !content.isEmpty else { throw entry.invalid("content", "empty token") }
            let special = try entry.bool("special", default: false)
            if !special {
                for option in ["normalized", "single_word", "lstrip", "rstrip"] where try entry.bool(option, default: false) {
                    throw entry.unsupported(option, "non-special added token \"\(content)\" with \(option): true")
                }
            }
            tokens.append((id, content, special))
        }
        self.init(tokens: tokens)
    }

    /// Added tokens in file order (a content listed twice keeps its later id); `special` ones are
    /// never matched in text, the others are cut out of it. Contents must be non-empty.
    init(tokens: [(id: Int, content: String, special: Bool)]) {
        var idsByContent: [PieceKey: Int] = [:], contentsByID: [Int: String] = [:]
        var specialContents: Set<PieceKey> = []
        var matchable: [(scalars: [Unicode.Scalar], id: Int)] = []
        for (id, content, special) in tokens {
            idsByContent[PieceKey(content)] = id
            contentsByID[id] = content
            if special {
                specialContents.insert(PieceKey(content))
            } else {
                matchable.append((Array(content.unicodeScalars), id))
            }
        }
        self.idsByContent = idsByContent
        self.contentsByID = contentsByID
        self.specialContents = specialContents
        self.matchable = matchable.sorted { $0.scalars.count > $1.scalars.count }
    }

    /// `text` cut at the non-special added tokens it contains; empty text pieces are left out.
    func split(_ text: String) -> [Segment] {
        guard !matchable.isEmpty else { return text.isEmpty ? [] : [.text(text, startsAtTextStart: true)] }
        let scalars = text.unicodeScalars
        var segments: [Segment] = []
        var segmentStart = scalars.startIndex
        var index = scalars.startIndex
        while index < scalars.endIndex {
            guard let (id, end) = longestMatch(in: scalars, at: index) else {
                index = scalars.index(after: index)
                continue
            }
            if segmentStart < index {
                segments.append(.text(String(scalars[segmentStart..<index]),
                                      startsAtTextStart: segmentStart == scalars.startIndex))
            }
            segments.append(.token(id))
            index = end
            segmentStart = end
        }
        if segmentStart < scalars.endIndex {
            segments.append(.text(String(scalars[segmentStart...]), startsAtTextStart: segmentStart == scalars.startIndex))
        }
        return segments
    }

    private func longestMatch(in scalars: String.UnicodeScalarView,
                              at start: String.Index) -> (id: Int, end: String.Index)? {
        candidates: for candidate in matchable {
            var index = start
            for scalar in candidate.scalars {
                guard index < scalars.endIndex, scalars[index] == scalar else { continue candidates }
                index = scalars.index(after: index)
            }
            return (candidate.id, index)
        }
        return nil
    }
}
