import Foundation

/// A tokenizer.json `normalizer`: rewrites the text before pre-tokenization (Hugging Face
/// tokenizers, `src/normalizers/`). Types: Replace, Prepend, Sequence, NFC, NFD, NFKC, NFKD.
indirect enum Normalizer {
    /// Every match of the pattern becomes `content`.
    case replace(TextPattern, content: String)
    /// `prefix` is put in front of a non-empty text (the Hub's Mixtral file prepends "▁").
    case prepend(String)
    /// Unicode normalization form, via Foundation.
    case unicode(UnicodeForm)
    /// The normalizers applied in order.
    case sequence([Normalizer])

    enum UnicodeForm: String, CaseIterable { case NFC, NFD, NFKC, NFKD }

    static let supportedTypes = ["Replace", "Prepend", "Sequence"] + UnicodeForm.allCases.map(\.rawValue)

    /// Reads one normalizer object. Throws `TokenizerError.unknownType` for other types (for example
    /// "Precompiled", SentencePiece's compiled character map) and errors of the fields.
    init(json: TokenizerJSON) throws {
        let type = try json.string("type")
        switch type {
        case "Replace":
            self = .replace(try TextPattern(json: json, key: "pattern"), content: try json.string("content"))
        case "Prepend":
            self = .prepend(try json.string("prepend"))
        case "Sequence":
            self = .sequence(try json.objects("normalizers").map(Normalizer.init(json:)))
        default:
            guard let form = UnicodeForm(rawValue: type) else {
                throw TokenizerError.unknownType(source: json.source, keyPath: json.path("type"), type: type,
                                                 supported: Self.supportedTypes)
            }
            self = .unicode(form)
        }
    }

    func normalize(_ text: String) -> String {
        switch self {
        case let .replace(pattern, content):
            return pattern.replacingMatches(in: text, with: content)
        case let .prepend(prefix):
            return text.isEmpty ? text : prefix + text
        case let .unicode(form):
            switch form {
            case .NFC: return text.precomposedStringWithCanonicalMapping
            case .NFD: return text.decomposedStringWithCanonicalMapping
            case .NFKC: return text.precomposedStringWithCompatibilityMapping
            case .NFKD: return text.decomposedStringWithCompatibilityMapping
            }
        case let .sequence(normalizers):
            return normalizers.reduce(text) { $1.normalize($0) }
        }
    }
}
