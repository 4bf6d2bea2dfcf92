import Foundation

// Where a command's lines go: its results on standard output, what the run is doing and its statistics
// on standard error.

/// Writes one line to standard output, unbuffered (streamed output). A write that fails (a full disk, a
/// closed descriptor) ends the run with "cannot write standard output: REASON" on standard error and exit
/// code 1; a closed pipe (`| head`) ends it with SIGPIPE before that, as for any command-line tool.
func emit(_ text: String, newline: Bool = true) {
    if let code = writeAll(newline ? text + "\n" : text, to: STDOUT_FILENO) {
        writeAll("mixtral-lab: cannot write standard output: \(String(cString: strerror(code)))\n", to: STDERR_FILENO)
        finishOutputFolders(failed: true)
        exit(1)
    }
}

/// A line on standard error (what the run is doing, kept out of the generated text).
func note(_ text: String) { writeToStandardError(text + "\n") }

/// `text` as it is on standard error (progress bars redraw their line with "\r"). Standard error that
/// cannot be written is left unwritten: the run goes on, its results and exit code unchanged.
func writeToStandardError(_ text: String) { writeAll(text, to: STDERR_FILENO) }

/// Writes every byte of `text` to `descriptor`; the `errno` of a write that failed, or nil.
@discardableResult
private func writeAll(_ text: String, to descriptor: Int32) -> Int32? {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0 {
            if errno == EINTR { continue }
            return errno
        }
        bytes = bytes.dropFirst(written)
    }
    return nil
}
