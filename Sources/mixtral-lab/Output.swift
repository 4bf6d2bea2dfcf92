import Foundation

// Where a command's lines go: its results on standard output, what the run is doing and its statistics
// on standard error.

/// Writes one line to standard output and flushes it (streamed output).
func emit(_ text: String, newline: Bool = true) {
    FileHandle.standardOutput.write((newline ? text + "\n" : text).data(using: .utf8)!)
}

/// A line on standard error (what the run is doing, kept out of the generated text).
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
