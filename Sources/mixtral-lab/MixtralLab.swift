import ArgumentParser
import Foundation
import Checkpoints
import Engine
import Quantization
import Lessons
import Charts
import Offloading
import Tracing

@main
struct MixtralLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixtral-lab",
        abstract: "A reference Mixtral engine and a lab for quantization and expert offloading.",
        subcommands: [Generate.self, Logits.self, Tokenize.self, Info.self, Bench.self, LessonCommand.self, PerplexityCommand.self, Compare.self, QuantError.self, ChartCommand.self, Trace.self, Plan.self, HardwareCommand.self, Step.self, Quantize.self, Export.self, Paper.self])

    /// Exit codes: 0 ok, 2 bad input (one message naming the file or flag and the problem), 1 internal error.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as CleanExit {
            exit(withError: error)
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            let failure = failure(for: error)
            FileHandle.standardError.write("mixtral-lab: \(failure.message)\n".data(using: .utf8)!)
            Foundation.exit(failure.code)
        }
    }

    /// The exit code and the message (after "mixtral-lab: ") for an error that ends a run: 2 and the
    /// error's message for bad input, 1 and "internal error: …" for anything else.
    static func failure(for error: Error) -> (code: Int32, message: String) {
        if isBadInput(error) { return (2, "\(error)") }
        if exitCode(for: error) == .validationFailure { return (2, fullMessage(for: error)) }
        return (1, "internal error: \(error)")
    }

    /// Errors caused by what the user gave us (files, flags), as opposed to bugs.
    static func isBadInput(_ error: Error) -> Bool {
        error is CheckpointError || error is TokenizerError || error is EngineError || error is QuantizeError || error is PrecisionSpecError
            || error is ValidationError || error is LessonError || error is ChartError || error is ExperimentParameterError
            || error is OffloadingError || error is ExpertStoreError || error is TraceError || error is CheckpointWriteError
    }
}

/// Writes one line to standard output and flushes it (streamed output).
func emit(_ text: String, newline: Bool = true) {
    FileHandle.standardOutput.write((newline ? text + "\n" : text).data(using: .utf8)!)
}
