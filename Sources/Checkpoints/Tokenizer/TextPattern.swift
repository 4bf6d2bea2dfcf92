import Foundation

/// The `pattern` of a Replace normalizer/decoder or a Split pre-tokenizer: `{"String": "…"}` is
/// matched literally, `{"Regex": "…"}` as a regular expression (Hugging Face tokenizers,
/// `normalizers/replace.rs`, `pre_tokenizers/split.rs`).
///
/// Matching works on Unicode scalars (Rust `char`s), never on grapheme clusters, so a space
/// followed by a combining accent still matches " ". Regexes run on ICU (`NSRegularExpression`);
/// tokenizers uses Oniguruma, and the two agree on the anchors, classes and quantifiers these files
/// use (`\A`, `\z`, ` {2,}`, `\d`, character sets), though `\d`/`\w` are Unicode-aware in ICU.
enum TextPattern {
    case literal([Unicode.Scalar])
    case regex(NSRegularExpression)

    /// Reads `{"String": …}` or `{"Regex": …}` at `key` of `json`.
    /// Throws `TokenizerError` for another shape, an empty literal, or a regex that does not compile.
    init(json: TokenizerJSON, key: String) throws {
        let pattern = try json.object(key)
        if let literal = try pattern.optionalString("String") {
            guard !literal.isEmpty else { throw json.invalid(key, "empty String pattern") }
            self = .literal(Array(literal.unicodeScalars))
        } else if let expression = try pattern.optionalString("Regex") {
            do {
                self = .regex(try NSRegularExpression(pattern: expression))
            } catch {
                throw TokenizerError.invalidRegex(source: json.source, keyPath: json.path(key),
                                                  pattern: expression, reason: "\(error)")
            }
        } else {
            throw json.invalid(key, "expected {\"String\": …} or {\"Regex\": …}")
        }
    }

    /// The leftmost non-overlapping, non-empty matches in `text`, in order.
    func matches(in text: String) -> [Range<String.Index>] {
        switch self {
        case .literal(let needle):
            return Self.literalMatches(of: needle, in: text)
        case .regex(let regex):
            let whole = NSRange(text.startIndex..<text.endIndex, in: text)
            return regex.matches(in: text, range: whole).compactMap { match in
                guard match.range.length > 0 else { return nil }
                return Range(match.range, in: text)
            }
        }
    }

    /// `text` cut into consecutive parts covering all of it, each flagged as a match or not
    /// (tokenizers' `Pattern::find_matches`); an empty text gives one empty non-match.
    func parts(of text: String) -> [(range: Range<String.Index>, isMatch: Bool)] {
        var parts: [(range: Range<String.Index>, isMatch: Bool)] = []
        var previous = text.startIndex
        for match in matches(in: text) {
            if previous < match.lowerBound { parts.append((previous..<match.lowerBound, false)) }
            parts.append((match, true))
            previous = match.upperBound
        }
        if previous < text.endIndex || parts.isEmpty { parts.append((previous..<text.endIndex, false)) }
        return parts
    }

    /// `text` with every match replaced by `content`.
    func replacingMatches(in text: String, with content: String) -> String {
        let found = matches(in: text)
        if found.isEmpty { return text }
        // Built as UTF-8 bytes: appending to a String's unicodeScalars view copies it each time.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + found.count * content.utf8.count)
        var previous = text.startIndex
        for match in found {
            bytes.append(contentsOf: text.utf8[previous..<match.lowerBound])
            bytes.append(contentsOf: content.utf8)
            previous = match.upperBound
        }
        bytes.append(contentsOf: text.utf8[previous...])
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func literalMatches(of needle: [Unicode.Scalar], in text: String) -> [Range<String.Index>] {
        let scalars = text.unicodeScalars
        var found: [Range<String.Index>] = []
        var index = scalars.startIndex
        let first = needle[0]
        outer: while index < scalars.endIndex {
            guard scalars[index] == first else {
                index = scalars.index(after: index)
                continue
            }
            var end = scalars.index(after: index)
            for scalar in needle.dropFirst() {
                guard end < scalars.endIndex, scalars[end] == scalar else {
                    index = scalars.index(after: index)
                    continue outer
                }
                end = scalars.index(after: end)
            }
            found.append(index..<end)
            index = end
        }
        return found
    }
}
