import Foundation

// Where a command's lines go: its results on standard output, what the run is doing and its statistics
// on standard error. Every line the command writes (emit, note, progress bars, the closing error message)
// goes through `send(_:to:)`: to the process's descriptors, or to the capture a test binds to its task.

/// Standard output or standard error.
enum StandardStream: Sendable {
    case output, error

    var descriptor: Int32 { self == .output ? STDOUT_FILENO : STDERR_FILENO }
    var name: String { self == .output ? "standard output" : "standard error" }
}

enum Output {
    /// Where this task's lines go instead of the process's descriptors (tests: each test captures its own
    /// command's lines, while other tests run in the same process). Nil: the descriptors. A task-local
    /// value, so it reaches everything the command calls on its own thread; the command writes no line
    /// from another thread (the closures it hands to reader and kernel threads write nothing).
    @TaskLocal static var capture: OutputCapture? = nil
}

/// Receives the lines of the task it is bound to (`Output.capture`). A class: a task-local value of an
/// optional function type crashes `swift_task_localValuePush` (Swift 6.3, Linux).
final class OutputCapture: Sendable {
    let write: @Sendable (StandardStream, String) -> Void
    init(_ write: @escaping @Sendable (StandardStream, String) -> Void) { self.write = write }
}

/// Writes one line to standard output (streamed output; unbuffered).
func emit(_ text: String, newline: Bool = true) {
    send(newline ? text + "\n" : text, to: .output)
}

/// A line on standard error (what the run is doing, kept out of the generated text).
func note(_ text: String) {
    send(text + "\n", to: .error)
}

/// Writes `text` to `stream` (or this task's capture). A write that fails ends the process
/// (`endAfterWriteFailure`): the command's output is lost, so going on would only do work nobody sees.
func send(_ text: String, to stream: StandardStream) {
    if let capture = Output.capture {
        capture.write(stream, text)
        return
    }
    if let code = writeAll(Array(text.utf8), to: stream.descriptor) { endAfterWriteFailure(stream, errno: code) }
}

/// Writes every byte to `descriptor`, retrying after interrupted and partial writes; the `errno` of a
/// write that failed, nil when all were written.
func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Int32? {
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
        if written < 0 {
            if errno == EINTR { continue }
            return errno
        }
        offset += written
    }
    return nil
}

/// The message for a stream that could not be written, after "mixtral-lab: ".
func writeFailureMessage(_ stream: StandardStream, errno code: Int32) -> String {
    "cannot write \(stream.name): \(String(cString: strerror(code)))"
}

/// Ends the process after a failed write to standard output or error (a full disk, /dev/full, a closed
/// descriptor):
/// - a closed pipe (EPIPE, seen only when SIGPIPE is ignored, e.g. inherited from the parent): dies of
///   SIGPIPE as it would have without the ignore (status 141 in a shell), silently — the reader went away,
///   as with `mixtral-lab generate | head -1`;
/// - anything else: "mixtral-lab: cannot write standard output: <reason>" on standard error when that can
///   still be written, and exit code 2, the code of every output the user pointed somewhere unwritable
///   (`--out` on a full disk is reported the same way); not 1, which means a defect of mixtral-lab.
/// The command's output folders are released first, and those it created and left empty removed, as for
/// any failed run.
func endAfterWriteFailure(_ stream: StandardStream, errno code: Int32) -> Never {
    finishOutputFolders(failed: true)
    if code == EPIPE {
        signal(SIGPIPE, SIG_DFL)
        raise(SIGPIPE)
    }
    if stream == .output {
        _ = writeAll(Array("mixtral-lab: \(writeFailureMessage(stream, errno: code))\n".utf8), to: STDERR_FILENO)
    }
    exit(2)
}
