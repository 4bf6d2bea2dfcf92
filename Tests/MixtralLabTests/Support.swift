import Foundation
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

/// What `body` writes to standard error (file descriptor 2), read back from a temporary file; other
/// tests running at the same time may add lines of their own.
func standardError(of body: () throws -> Void) throws -> String { try written(to: 2, by: body) }

/// What `body` writes to standard output (file descriptor 1), as `standardError(of:)` does for 2.
func standardOutput(of body: () throws -> Void) throws -> String { try written(to: 1, by: body) }

/// One redirection at a time: two tests redirecting the same descriptor at once restore each other's
/// saved descriptor in the wrong order and lose what the other's command wrote. Recursive, because a test
/// may capture standard error inside a capture of standard output on the same thread.
private let redirection = NSRecursiveLock()

/// What `body` writes to `descriptor`, redirected to a temporary file while it runs.
private func written(to descriptor: Int32, by body: () throws -> Void) throws -> String {
    redirection.lock()
    defer { redirection.unlock() }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mixtral-lab-output-\(UUID().uuidString)")
    FileManager.default.createFile(atPath: url.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: url) }
    let file = try FileHandle(forWritingTo: url)
    let saved = dup(descriptor)
    dup2(file.fileDescriptor, descriptor)
    defer {
        dup2(saved, descriptor)
        close(saved)
        try? file.close()
    }
    try body()
    return try String(contentsOf: url, encoding: .utf8)
}
