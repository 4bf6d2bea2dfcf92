import Foundation
import Synchronization
@testable import mixtral_lab

/// Runs `mixtral-lab arguments` as `MixtralLab.main` does, without exiting: nil when the command
/// succeeds, otherwise the exit code and the message it would print after "mixtral-lab: ".
func failure(_ arguments: [String]) -> (code: Int32, message: String)? {
    do {
        try MixtralLab.runCommand(arguments)
        return nil
    } catch {
        return MixtralLab.failure(for: error)
    }
}

/// What `body`'s command writes to standard error (`note`, progress lines), captured for this task alone
/// (`Output.capture`): lines of other tests running at the same time never land in it.
func standardError(of body: () throws -> Void) throws -> String { try written(to: .error, by: body) }

/// What `body`'s command writes to standard output (`emit`), as `standardError(of:)` does.
func standardOutput(of body: () throws -> Void) throws -> String { try written(to: .output, by: body) }

/// What `body` writes to `stream`; what it writes to the other stream goes where it went before (the
/// enclosing capture of this task, if any, else the process's descriptor), so captures nest.
private func written(to stream: StandardStream, by body: () throws -> Void) throws -> String {
    let captured = CapturedText()
    let outer = Output.capture
    try Output.$capture.withValue(OutputCapture { written, text in
        if written == stream {
            captured.text.withLock { $0 += text }
        } else if let outer {
            outer.write(written, text)
        } else {
            _ = writeAll(Array(text.utf8), to: written.descriptor)
        }
    }, operation: body)
    return captured.text.withLock { $0 }
}

/// The text a capture collected (a class: the capturing closure outlives no test but must be @Sendable).
private final class CapturedText: Sendable {
    let text = Mutex("")
}
