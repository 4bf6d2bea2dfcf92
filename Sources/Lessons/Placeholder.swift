import Foundation

/// A `{{ name.key.subkey | filter }}` reference in lesson prose.
struct Placeholder {
    /// `name.key.subkey`
    let path: String
    /// Lines between the start of the prose and the placeholder.
    let lineOffset: Int

    var namespace: String { String(path.split(separator: ".").first ?? "") }
    var keys: [String] { path.split(separator: ".").dropFirst().map(String.init) }

    private static let pattern = try! NSRegularExpression(pattern: #"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\s*(?:\|[^}]*)?\}\}"#)

    /// Every placeholder in `text`, in order.
    static func all(in text: String) -> [Placeholder] {
        let range = NSRange(text.startIndex..., in: text)
        return pattern.matches(in: text, range: range).compactMap { match in
            guard let pathRange = Range(match.range(at: 1), in: text), let whole = Range(match.range, in: text) else { return nil }
            let offset = text[..<whole.lowerBound].filter { $0 == "\n" }.count
            return Placeholder(path: String(text[pathRange]), lineOffset: offset)
        }
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
