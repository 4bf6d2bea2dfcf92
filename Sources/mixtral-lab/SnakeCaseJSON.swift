import ArgumentParser
import Foundation
import FileChecks

// JSON files and objects with snake_case keys, as `--format json` and the trace summaries write them.

/// Writes `value` as pretty JSON with snake_case keys, sorted, and a final newline. The caller has checked
/// whether an existing file may be replaced; anything but a regular file there is refused. Lists the file
/// in its folder's run manifest (`RunManifest.created`).
/// - Throws: `ValidationError` naming the file when it cannot be written; `RunManifestError`.
func writeSnakeCaseJSON<T: Encodable>(_ value: T, to url: URL) throws {
    if let refusal = outputFileRefusal(url.path, overwrite: true) { throw ValidationError("\(url.path) \(refusal)") }
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    do { try (encoder.encode(value) + Data("\n".utf8)).write(to: url) } catch {
        throw ValidationError("cannot write \(url.path): \(error.localizedDescription)")
    }
    try RunManifest.created(url)
}

/// `value` as a JSON object with snake_case keys (for embedding in a larger JSON document).
func snakeCaseJSONObject<T: Encodable>(_ value: T) throws -> Any {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return try JSONSerialization.jsonObject(with: try encoder.encode(value))
}

/// `value` as pretty JSON text with snake_case keys, sorted (`--format json` on standard output).
func snakeCaseJSONText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
