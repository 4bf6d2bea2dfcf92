import ArgumentParser
import Foundation
import Checkpoints
import Engine
import Quantization
import Charts
import Offloading
import Tracing
import CPUFeatures
import UserInput

@main
struct MixtralLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixtral-lab",
        abstract: "A reference Mixtral engine and a lab for quantization and expert offloading.",
        subcommands: [Generate.self, Logits.self, Tokenize.self, Info.self, Bench.self, LessonCommand.self, PerplexityCommand.self, Compare.self, QuantErrorCommand.self, ChartCommand.self, Trace.self, Plan.self, HardwareCommand.self, Step.self, Quantize.self, Export.self, Paper.self])

    /// Exit codes: 0 ok, 2 bad input (one message naming the file or flag and the problem) or an output
    /// that could not be written (standard output or error included: `endAfterWriteFailure`), 1 internal
    /// error. The closing message is written without checking: when standard error cannot take it, the
    /// exit code still says what happened.
    static func main() {
        // Before anything of the Quantization target (compiled for AVX2/FMA/F16C) runs.
        if let unsupported = unsupportedCPUMessage(mixtral_lab_cpu_features()) {
            _ = writeAll(Array("mixtral-lab: \(unsupported)\n".utf8), to: STDERR_FILENO)
            Foundation.exit(2)
        }
        do {
            if let problem = invalidUTF8Argument(rawArguments()) { throw ValidationError(problem) }
            try runCommand(nil)
        } catch let error as CleanExit {
            exit(withError: error)
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            let failure = failure(for: error)
            _ = writeAll(Array("mixtral-lab: \(failure.message)\n".utf8), to: STDERR_FILENO)
            Foundation.exit(failure.code)
        }
    }

    /// Parses `arguments` (nil: the process's) and runs the command; then releases its output folders'
    /// locks, and when it failed removes the folders it created and left empty (`finishOutputFolders`).
    static func runCommand(_ arguments: [String]?) throws {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            finishOutputFolders(failed: false)
        } catch {
            finishOutputFolders(failed: true)
            throw error
        }
    }

    /// The exit code and the message (after "mixtral-lab: ") for an error that ends a run: 2 and the
    /// error's message for bad input, 1 and "internal error: …" for anything else.
    static func failure(for error: Error) -> (code: Int32, message: String) {
        if let error = error as? UserInputError { return (2, error.description) }
        if exitCode(for: error) == .validationFailure { return (2, usageErrorMessage(for: error)) }
        return (1, "internal error: \(error)")
    }

    /// A flag or argument error in one line: ArgumentParser's message and its pointer to `--help`, without
    /// the usage block it would print between them.
    static func usageErrorMessage(for error: Error) -> String {
        let help = fullMessage(for: error).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .last { $0.hasPrefix("See '") && $0.hasSuffix("for more information.") }
        let message = message(for: error).trimmingCharacters(in: .whitespacesAndNewlines)
        return help.map { "\(message) (\($0.dropLast()))" } ?? message
    }

}
