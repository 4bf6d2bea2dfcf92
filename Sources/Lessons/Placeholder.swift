import Foundation

/// A `{{ name.key.subkey | filter }}` reference in lesson prose.
struct Placeholder {
    /// `name.key.subkey`
    let path: String
    /// Lines between the start of the prose and the placeholder.
    let lineOffset: Int
    /// Names of the filters applied, in order (`fixed` in `{{ x|fixed:2 }}`).
    let filters: [String]
    /// Each filter's argument text after its ":" (`2` in `{{ x|fixed:2 }}`), nil without one.
    let arguments: [String?]

    var namespace: String { String(path.split(separator: ".").first ?? "") }
    var keys: [String] { path.split(separator: ".").dropFirst().map(String.init) }

    private static let pattern = try! NSRegularExpression(pattern: #"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\s*((?:\|[^}]*)?)\}\}"#)

    /// Every placeholder in `text`, in order.
    static func all(in text: String) -> [Placeholder] {
        let range = NSRange(text.startIndex..., in: text)
        return pattern.matches(in: text, range: range).compactMap { match in
            guard let pathRange = Range(match.range(at: 1), in: text), let whole = Range(match.range, in: text),
                  let filterRange = Range(match.range(at: 2), in: text) else { return nil }
            let offset = text[..<whole.lowerBound].filter { $0 == "\n" }.count
            let parts = text[filterRange].split(separator: "|").map { $0.split(separator: ":", maxSplits: 1) }
            let filters = parts.map { String($0.first ?? "").trimmingCharacters(in: .whitespaces) }
            let arguments = parts.map { $0.count > 1 ? $0[1].trimmingCharacters(in: .whitespaces) : nil }
            return Placeholder(path: String(text[pathRange]), lineOffset: offset, filters: filters, arguments: arguments)
        }
    }

    /// Line offsets of `{{` that do not start a well-formed placeholder (unclosed, or not a name).
    static func malformed(in text: String) -> [Int] {
        let wellFormed = Set(pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).map(\.range.location))
        var offsets: [Int] = []
        var search = text.startIndex
        while let open = text.range(of: "{{", range: search..<text.endIndex) {
            if !wellFormed.contains(NSRange(open, in: text).location) {
                offsets.append(text[..<open.lowerBound].filter { $0 == "\n" }.count)
            }
            search = open.upperBound
        }
        return offsets
    }

    /// The value at this path in the results, or nil.
    func resolve(in results: [String: Any]) -> Any? {
        var value: Any? = results[namespace]
        for key in keys {
            guard let dictionary = value as? [String: Any] else { return nil }
            value = dictionary[key]
        }
        return value
    }
}
