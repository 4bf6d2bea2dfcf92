import Foundation

/// Writes a trace as JSON Lines: one object per line, `{"type":"header",…}` first, then `"layer"` and
/// `"token"` records in run order. Keys are snake_case, `type` first and the rest sorted; the schema is
/// `docs/trace-format.md`.
public final class JSONLTraceWriter: TraceSink {
    private let file: TraceFile
    private let encoder: JSONEncoder

    /// Creates the file and writes the header line.
    /// - Throws: `TraceError.fileExists` (unless `overwrite`), `.io`.
    public init(url: URL, header: TraceHeader, overwrite: Bool = false) throws {
        file = try TraceFile(url: url, overwrite: overwrite)
        encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        line(type: "header", header)
    }

    public func write(_ record: LayerRecord) { line(type: "layer", record) }
    public func write(_ record: TokenRecord) { line(type: "token", record) }
    public func close() throws { try file.close() }

    /// Encodes `value` and prefixes its object with `"type":…`.
    private func line<T: Encodable>(type: String, _ value: T) {
        // Cannot fail: plain structs of numbers and strings, non-finite floats written as strings.
        let body = try! encoder.encode(value)
        file.write("{\"type\":\"\(type)\",")
        file.write(body.dropFirst())
        file.write("\n")
    }
}
