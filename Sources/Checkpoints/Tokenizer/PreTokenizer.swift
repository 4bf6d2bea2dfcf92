/// One piece of normalized text on its way to the BPE model.
struct PreToken {
    var text: String
    /// True when the piece begins at offset 0 of the user's text (tokenizers checks
    /// `offsets_original().0 == 0` for Metaspace's "first" prepend scheme).
    var startsAtTextStart: Bool
}

/// When Metaspace puts its replacement character in front of a piece (tokenizers,
/// `pre_tokenizers/metaspace.rs`): `always` every piece, `first` only a piece at the start of the
/// text, `never` none — and in each case only if the piece does not already start with it.
enum PrependScheme: String {
    case always, first, never

    /// Reads `prepend_scheme` (default "always"); the older `add_prefix_space: false` means `never`
    /// and contradicts any other declared scheme, as in tokenizers.
    init(json: TokenizerJSON) throws {
        let declared = try json.optionalString("prepend_scheme").map { name in
            guard let scheme = PrependScheme(rawValue: name) else {
                throw json.invalid("prepend_scheme", "expected \"always\", \"first\" or \"never\", found \"\(name)\"")
            }
            return scheme
        }
        if try !json.bool("add_prefix_space", default: true) {
            guard declared == nil || declared == .never else {
                throw json.invalid("add_prefix_space", "false does not match prepend_scheme \"\(declared!.rawValue)\"")
            }
            self = .never
        } else {
            self = declared ?? .always
        }
    }
}

/// How a Split keeps the delimiters it finds (tokenizers `SplitDelimiterBehavior`).
enum SplitBehavior: String, CaseIterable {
    case Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous
}

/// A tokenizer.json `pre_tokenizer`: cuts normalized text into the words the BPE model sees
/// (tokenizers, `src/pre_tokenizers/`). Types: Metaspace, Split, Sequence.
indirect enum PreTokenizer {
    /// Spaces become `replacement` ("▁"), which is prepended per `prependScheme`; with `split` the
    /// piece is then cut before each `replacement`.
    case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme, split: Bool)
    /// Cut at the pattern's matches, keeping them as `behavior` says.
    case split(TextPattern, behavior: SplitBehavior)
    /// The pre-tokenizers applied in order, each to every piece of the previous one.
    case sequence([PreTokenizer])

    static let supportedTypes = ["Metaspace", "Split", "Sequence"]

    /// Reads one pre-tokenizer object. Throws `TokenizerError.unknownType` for other types,
    /// `.unsupported` for Split with `invert: true`.
    init(json: TokenizerJSON) throws {
        let type = try json.string("type")
        switch type {
        case "Metaspace":
            self = .metaspace(replacement: try json.scalar("replacement"), prependScheme: try PrependScheme(json: json),
                              split: try json.bool("split", default: true))
        case "Split":
            let name = try json.string("behavior")
            guard let behavior = SplitBehavior(rawValue: name) else {
                throw json.invalid("behavior", "unknown behavior \"\(name)\" (known: "
                                   + SplitBehavior.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
            if try json.bool("invert", default: false) { throw json.unsupported("invert", "inverted Split patterns") }
            self = .split(try TextPattern(json: json, key: "pattern"), behavior: behavior)
        case "Sequence":
            self = .sequence(try json.objects("pretokenizers").map(PreTokenizer.init(json:)))
        default:
            throw TokenizerError.unknownType(source: json.source, keyPath: json.path("type"), type: type,
                                             supported: Self.supportedTypes)
        }
    }

    /// The pieces after this pre-tokenizer; empty pieces are dropped, as in tokenizers.
    func preTokenize(_ pieces: [PreToken]) -> [PreToken] {
        switch self {
        case let .metaspace(replacement, prependScheme, split):
            return pieces.flatMap { piece in
                Self.metaspace(piece, replacement: replacement, prependScheme: prependScheme, split: split)
            }
        case let .split(pattern, behavior):
            return pieces.flatMap { Self.split($0, at: pattern, behavior: behavior) }
        case let .sequence(preTokenizers):
            return preTokenizers.reduce(pieces) { $1.preTokenize($0) }
        }
    }

    private static func metaspace(_ piece: PreToken, replacement: Unicode.Scalar, prependScheme: PrependScheme,
                                  split: Bool) -> [PreToken] {
        var text = TextPattern.literal([" "]).replacingMatches(in: piece.text, with: String(replacement))
        let prepend: Bool
        switch prependScheme {
        case .always: prepend = true
        case .first: prepend = piece.startsAtTextStart
        case .never: prepend = false
        }
        if prepend && text.unicodeScalars.first != replacement { text = String(replacement) + text }
        let replaced = PreToken(text: text, startsAtTextStart: piece.startsAtTextStart)
        guard split else { return [replaced] }
        return Self.split(replaced, at: .literal([replacement]), behavior: .MergedWithNext)
    }

    /// tokenizers' `NormalizedString::split`: the parts of the pattern, regrouped per `behavior`.
    private static func split(_ piece: PreToken, at pattern: TextPattern, behavior: SplitBehavior) -> [PreToken] {
        let parts = pattern.parts(of: piece.text)
        var kept: [Range<String.Index>] = []
        switch behavior {
        case .Isolated:
            kept = parts.map(\.range)
        case .Removed:
            kept = parts.filter { !$0.isMatch }.map(\.range)
        case .Contiguous:
            var previousMatch = false
            for part in parts {
                if part.isMatch == previousMatch, let last = kept.popLast() {
                    kept.append(last.lowerBound..<part.range.upperBound)
                } else {
                    kept.append(part.range)
                }
                previousMatch = part.isMatch
            }
        case .MergedWithPrevious:
            var previousMatch = false
            for part in parts {
                if part.isMatch && !previousMatch, let last = kept.popLast() {
                    kept.append(last.lowerBound..<part.range.upperBound)
                } else {
                    kept.append(part.range)
                }
                previousMatch = part.isMatch
            }
        case .MergedWithNext:
            var previousMatch = false
            for part in parts.reversed() {
                if part.isMatch && !previousMatch, let last = kept.popLast() {
                    kept.append(part.range.lowerBound..<last.upperBound)
                } else {
                    kept.append(part.range)
                }
                previousMatch = part.isMatch
            }
            kept.reverse()
        }
        return kept.filter { !$0.isEmpty }.map { range in
            PreToken(text: String(piece.text.unicodeScalars[range]),
                     startsAtTextStart: piece.startsAtTextStart && range.lowerBound == piece.text.startIndex)
        }
    }
}
