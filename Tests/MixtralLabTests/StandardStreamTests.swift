import Foundation
import Testing
@testable import mixtral_lab

/// A test's capture of standard output or error holds its own command's lines only, whatever other tests
/// write meanwhile (the suite runs tests in parallel in one process).
struct OutputCaptureTests {
    @Test func aCaptureHoldsOnlyItsOwnTasksLines() throws {
        let written = DispatchSemaphore(value: 0)
        let errors = try standardError {
            note("this test's first line")
            // another test's line, written while this capture is open (as another test's command would)
            Thread {
                note("a line of another test, written while OutputCaptureTests captures (expected in the test log)")
                written.signal()
            }.start()
            written.wait()
            note("this test's second line")
        }
        #expect(errors == "this test's first line\nthis test's second line\n")
    }

    @Test func capturesNestAndKeepTheStreamsApart() throws {
        var errors = ""
        let output = try standardOutput {
            errors = try standardError {
                emit("result")
                note("statistics")
            }
        }
        #expect(output == "result\n" && errors == "statistics\n")
    }
}

/// A standard output or error that cannot be written (a full disk, /dev/full) ends the run with one
/// message and exit code 2, never a crash (the reviewer's `logits … > /dev/full` died of SIGILL).
struct WriteFailureTests {
    @Test func aWriteToAFullDeviceReportsTheReason() throws {
        guard let full = FileHandle(forWritingAtPath: "/dev/full") else {
            Issue.record("no /dev/full on this system")
            return
        }
        defer { try? full.close() }
        let code = writeAll(Array("text\n".utf8), to: full.fileDescriptor)
        #expect(code == ENOSPC)
        #expect(writeFailureMessage(.output, errno: ENOSPC) == "cannot write standard output: No space left on device")
    }

    /// The built binary with its standard output (or error) on /dev/full: exit code and standard error.
    private func run(_ arguments: [String], fullStream: StandardStream) throws -> (code: Int32, errors: String, crashed: Bool) {
        let process = Process()
        process.executableURL = try mixtralLabBinary()
        process.arguments = arguments
        let errors = Pipe()
        let full = FileHandle(forWritingAtPath: "/dev/full")!
        if fullStream == .output {
            process.standardOutput = full
            process.standardError = errors
        } else {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = full
        }
        try process.run()
        let text = fullStream == .output ? String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) : ""
        process.waitUntilExit()
        return (process.terminationStatus, text, process.terminationReason == .uncaughtSignal)
    }

    @Test(arguments: [["info"], ["lesson", "list"], ["logits", "--token-ids", "1,2"]])
    func standardOutputOnAFullDevice(arguments: [String]) throws {
        let result = try run(arguments, fullStream: .output)
        #expect(!result.crashed && result.code == 2, "\(arguments): \(result)")
        #expect(result.errors == "mixtral-lab: cannot write standard output: No space left on device\n", "\(arguments): \(result.errors)")
    }

    /// A bad flag with standard error on /dev/full: the message is lost, the exit code still says bad input.
    @Test func standardErrorOnAFullDevice() throws {
        let bad = try run(["generate", "--temperature", "nan"], fullStream: .error)
        #expect(!bad.crashed && bad.code == 2, "\(bad)")
        let statistics = try run(["generate", "--max-tokens", "2", "--cache-experts", "2"], fullStream: .error)
        #expect(!statistics.crashed && statistics.code == 2, "\(statistics)")
    }
}

/// The mixtral-lab binary SwiftPM built beside the test bundle (`swift test` builds every product).
func mixtralLabBinary() throws -> URL {
    var folder = Bundle.main.bundleURL
    for _ in 0..<4 {
        let candidate = folder.appendingPathComponent("mixtral-lab")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        folder = folder.deletingLastPathComponent()
    }
    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "mixtral-lab beside \(Bundle.main.bundleURL.path)"])
}
