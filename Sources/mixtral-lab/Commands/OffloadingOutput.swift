import ArgumentParser
import Foundation
import Offloading
import Tracing

// Output and error helpers of the offloading commands (trace, plan).

/// Runs `body`, turning offloading and trace errors into one-line usage errors (exit code 2).
func offloadingInput<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as OffloadingError {
        throw ValidationError(error.description)
    } catch let error as TraceError {
        throw ValidationError(error.description)
    }
}

/// `text` padded with spaces to `width` columns (left-aligned, or right-aligned).
func padColumn(_ text: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return right ? fill + text : text + fill
}

/// Writes `value` as pretty JSON with snake_case keys, sorted, and a final newline.
/// - Throws: `ValidationError` naming the file when it cannot be written.
func writeSnakeCaseJSON<T: Encodable>(_ value: T, to url: URL) throws {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    do { try (encoder.encode(value) + Data("\n".utf8)).write(to: url) } catch {
        throw ValidationError("cannot write \(url.path): \(error.localizedDescription)")
    }
}
