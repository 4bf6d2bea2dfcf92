import ArgumentParser
import Foundation
import Offloading

/// Reading the JSON files `trace` writes back in (`plan --measured`, `chart hit-rate --sweep`): each
/// problem is one line naming the flag and the file — the other kind of file given by mistake is named as
/// such, and a decoding error is said in a few words with the file's own key names, never Foundation's
/// "The data isn't in the correct format".

/// The `summary.json` `trace` wrote at `path`.
/// - Throws: `ValidationError` naming `flag`: the file cannot be read (`readInputFile`), is a sweep.json,
///   or is not a summary.json.
func readTraceSummary(_ path: String, flag: String) throws -> OffloadingSummary {
    let data = try readInputFile(path, flag: flag)
    let decoder = traceOutputDecoder()
    do { return try decoder.decode(OffloadingSummary.self, from: data) } catch {
        if (try? decoder.decode([OffloadingSummary].self, from: data)) != nil {
            throw ValidationError("\(flag) \(path): this is a sweep.json (one summary per policy and cache size, from `mixtral-lab trace --sweep`), not a summary.json; give the summary.json of one `mixtral-lab trace --out DIR` run")
        }
        throw ValidationError("\(flag) \(path): not a summary.json written by `mixtral-lab trace` (\(decodingProblem(error)))")
    }
}

/// The `sweep.json` `trace --sweep` wrote at `path`.
/// - Throws: `ValidationError` naming `flag`: the file cannot be read, is a summary.json, or is not a sweep.json.
func readTraceSweep(_ path: String, flag: String) throws -> [OffloadingSummary] {
    let data = try readInputFile(path, flag: flag)
    let decoder = traceOutputDecoder()
    do { return try decoder.decode([OffloadingSummary].self, from: data) } catch {
        if (try? decoder.decode(OffloadingSummary.self, from: data)) != nil {
            throw ValidationError("\(flag) \(path): this is a summary.json (one policy's totals, from `mixtral-lab trace`), not a sweep.json; make one with `mixtral-lab trace --sweep --out DIR`")
        }
        throw ValidationError("\(flag) \(path): not a sweep.json written by `mixtral-lab trace --sweep` (\(decodingProblem(error)))")
    }
}

/// The decoder for `trace`'s JSON: snake_case keys.
func traceOutputDecoder() -> JSONDecoder {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return decoder
}

/// A decoding error in a few words: the key path as the file spells it (snake_case) and what was wrong.
func decodingProblem(_ error: Error) -> String {
    func path(_ keys: [CodingKey]) -> String { keys.map { $0.intValue.map { "entry \($0)" } ?? snakeCase($0.stringValue) }.joined(separator: ".") }
    switch error as? DecodingError {
    case .keyNotFound(let key, let context)?:
        return "missing key \"\(path(context.codingPath + [key]))\""
    case .typeMismatch(let type, let context)?:
        return "\(context.codingPath.isEmpty ? "the file" : path(context.codingPath)) is not \(jsonKind(type))"
    case .valueNotFound(_, let context)?:
        return "\(path(context.codingPath)) has no value"
    case .dataCorrupted(let context)?:
        return context.codingPath.isEmpty ? "invalid JSON" : "\(path(context.codingPath)) has an invalid value"
    default:
        return "\(error)"
    }
}

/// What a JSON value of Swift type `type` is, in JSON's words.
private func jsonKind(_ type: Any.Type) -> String {
    let name = String(describing: type)
    if [Double.self, Float.self, Int.self, UInt64.self, Int64.self].contains(where: { $0 == type }) { return "a number" }
    if type == String.self { return "a string" }
    if type == Bool.self { return "true or false" }
    if name.hasPrefix("Array") { return "a list" }
    return "an object (keys and values)"
}

/// `decodeHitRate` → `decode_hit_rate` (what `.convertFromSnakeCase` undid).
private func snakeCase(_ key: String) -> String {
    key.reduce(into: "") { text, character in
        if character.isUppercase { text += "_" + character.lowercased() } else { text.append(character) }
    }
}
