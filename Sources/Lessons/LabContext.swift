import Foundation
import Checkpoints
import Engine
import Quantization

/// What experiments share during one lesson run: the model checkpoint and tokenizer, models loaded at
/// each precision (loaded once, reused by later steps), the output folder, and the command line recorded
/// in chart metadata.
public final class LabContext {
    public let checkpoint: Checkpoint
    public let tokenizer: Tokenizer
    /// Where charts and traces are written.
    public let outputDirectory: URL
    /// `--precision` of the run: the precision experiments use when a lesson does not choose one.
    public let basePrecision: PrecisionSpec
    /// The command that started the run (PNG metadata).
    public let commandLine: String
    /// Reports slow work (more than a second) to the user.
    public let progress: (String) -> Void
    private var models: [String: MixtralModel] = [:]

    public init(checkpoint: Checkpoint, tokenizer: Tokenizer, outputDirectory: URL, basePrecision: PrecisionSpec,
                commandLine: String, progress: @escaping (String) -> Void = { _ in }) {
        self.checkpoint = checkpoint
        self.tokenizer = tokenizer
        self.outputDirectory = outputDirectory
        self.basePrecision = basePrecision
        self.commandLine = commandLine
        self.progress = progress
    }

    /// The model at `precision`, loaded (and quantized) on first use.
    public func model(_ precision: PrecisionSpec) throws -> MixtralModel {
        if let model = models[precision.description] { return model }
        progress("loading the model at \(precision)")
        let model = try MixtralModel(checkpoint: checkpoint, precision: precision)
        models[precision.description] = model
        return model
    }

    /// A file in the output folder.
    public func output(_ name: String) -> URL { outputDirectory.appendingPathComponent(name) }

    /// Short model name for chart metadata.
    public var modelName: String { checkpoint.directory.lastPathComponent }
}
