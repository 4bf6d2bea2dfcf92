import Foundation
import Stencil
import Engine
import Offloading
import Reports

/// Fills lesson prose with measured results through Stencil templates, with number filters:
/// `{{ x|fixed:2 }}` (2 decimals), `{{ x|percent:1 }}` (0.123 → 12.3 %), `{{ x|bytes }}` (MiB/GiB),
/// `{{ x|grouped }}` (1,234,567), `{{ x|sci:2 }}` (1.23e-04), `{{ x|counted:"expert" }}` (1 expert,
/// 2 experts). A bare number prints with 3 significant
/// digits. A placeholder without a value is an error, never an empty string.
struct TemplateRenderer {
    /// The filters lesson prose may use.
    static let filterNames: Set<String> = ["fixed", "percent", "sci", "grouped", "bytes", "counted"]

    private let environment: Environment

    init() {
        let filters = Extension()
        filters.registerFilter("fixed") { value, arguments in
            formatNumber("%.\(digits(arguments, default: 2))f", try number(value, "fixed"))
        }
        filters.registerFilter("percent") { value, arguments in
            String(format: "%.\(digits(arguments, default: 1))f %%", try number(value, "percent") * 100)
        }
        filters.registerFilter("sci") { value, arguments in
            String(format: "%.\(digits(arguments, default: 2))e", try number(value, "sci"))
        }
        filters.registerFilter("grouped") { value in
            formatGrouped(Int(try number(value, "grouped").rounded()))
        }
        filters.registerFilter("bytes") { value in formatBytes(try number(value, "bytes")) }
        filters.registerFilter("counted") { value, arguments in
            guard let noun = arguments.first as? String else { throw TemplateSyntaxError("filter counted needs a noun, e.g. counted:\"expert\"") }
            return counted(Int(try number(value, "counted").rounded()), noun)
        }
        environment = Environment(extensions: [filters])
    }

    /// The first thing in `text` that lesson prose may not hold, with its line offset: Stencil's tags and
    /// comments (`{%`, `{#`: prose is text with placeholders, not a template program — `{% for i in
    /// 1...2000000000 %}` would build a 2-billion-element array), or a filter argument other than what the
    /// filter takes (decimals 0…12 for fixed/percent/sci, one quoted noun for counted, none for bytes and
    /// grouped; `fixed:1...2000000000` is a range to Stencil). Unknown filter names are `filterNames`' check.
    static func syntaxProblem(in text: String) -> (lineOffset: Int, problem: String)? {
        for opener in ["{%", "{#"] {
            if let range = text.range(of: opener) {
                return (text[..<range.lowerBound].filter { $0 == "\n" }.count,
                        "\"\(opener)\" starts a template tag or comment; lesson prose holds only placeholders {{ name.key|filter:arg }}")
            }
        }
        for placeholder in Placeholder.all(in: text) {
            for (filter, argument) in zip(placeholder.filters, placeholder.arguments) {
                let valid: Bool
                switch filter {
                case "fixed", "percent", "sci": valid = argument.map { Int($0).map { (0...12).contains($0) } ?? false } ?? true
                case "counted": valid = argument?.range(of: #"^"[^"\\]*"$"#, options: .regularExpression) != nil
                case "bytes", "grouped": valid = argument == nil
                default: valid = true
                }
                if !valid {
                    let takes = ["counted": "one quoted noun, e.g. counted:\"expert\"", "bytes": "no argument", "grouped": "no argument"][filter]
                        ?? "a number of decimals from 0 to 12"
                    return (placeholder.lineOffset, "placeholder {{ \(placeholder.path) }}: filter \(filter) takes \(takes)\(argument.map { ", not \"\($0)\"" } ?? "")")
                }
            }
        }
        return nil
    }

    /// Renders `text` with `results`.
    /// - Throws: `LessonError.malformed` at the placeholder's line when a value is missing, a filter fails,
    ///   or the text holds what `syntaxProblem` refuses.
    func render(_ text: String, results: [String: Any], file: String, line: Int) throws -> String {
        if let (offset, problem) = Self.syntaxProblem(in: text) {
            throw LessonError.malformed(file: file, line: line + offset, problem: problem)
        }
        for placeholder in Placeholder.all(in: text) where placeholder.resolve(in: results) == nil {
            throw LessonError.malformed(file: file, line: line + placeholder.lineOffset,
                                        problem: "placeholder {{ \(placeholder.path) }} has no value in this run")
        }
        do {
            return try environment.renderTemplate(string: text, context: results.mapValues(displayable))
        } catch {
            throw LessonError.malformed(file: file, line: line, problem: "cannot fill the text: \(error)")
        }
    }
}

/// Numbers print with 3 significant digits unless a filter formats them.
private func displayable(_ value: Any) -> Any {
    switch value {
    case let dictionary as [String: Any]: return dictionary.mapValues(displayable)
    case let number as Double: return DisplayNumber(value: number)
    case let chart as ChartFile: return chart.markdown
    case let number as Float: return DisplayNumber(value: Double(number))
    default: return value
    }
}

/// A number that renders as 3 significant digits but still reaches filters as a number.
struct DisplayNumber: CustomStringConvertible {
    let value: Double
    var description: String {
        if value.isNaN || value.isInfinite { return "\(value)" }
        if value != 0 && (abs(value) < 1e-3 || abs(value) >= 1e6) { return String(format: "%.2e", value) }
        if value == value.rounded() && abs(value) < 1e6 { return String(format: "%.0f", value) }
        return String(format: "%.3g", value)
    }
}

private func number(_ value: Any?, _ filter: String) throws -> Double {
    switch value {
    case let n as DisplayNumber: return n.value
    case let n as Double: return n
    case let n as Int: return Double(n)
    case let n as Float: return Double(n)
    default: throw TemplateSyntaxError("filter \(filter) needs a number, got \(String(describing: value))")
    }
}

private func digits(_ arguments: [Any?], default fallback: Int) -> Int {
    (arguments.first.flatMap { $0 as? Int }) ?? fallback
}
