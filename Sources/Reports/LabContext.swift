import Foundation
import Checkpoints
import Engine
import Quantization
import Charts
import Tensors

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
    /// Whether charts may replace existing files (lessons: their folder was checked before the run).
    public let overwrite: Bool
    private var models: [String: MixtralModel] = [:]
    /// Loads the model at a precision (nil: every weight resident, `MixtralModel(checkpoint:precision:)`);
    /// the CLI passes one that streams experts under `--ram-budget`.
    private let loadModel: ((PrecisionSpec) throws -> MixtralModel)?

    public init(checkpoint: Checkpoint, tokenizer: Tokenizer, outputDirectory: URL, basePrecision: PrecisionSpec,
                commandLine: String, overwrite: Bool = true, loadModel: ((PrecisionSpec) throws -> MixtralModel)? = nil,
                progress: @escaping (String) -> Void = { _ in }) {
        self.loadModel = loadModel
        self.overwrite = overwrite
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
        setBLASThreads(recommendedBLASThreads(checkpoint.config))
        let model = try loadModel?(precision) ?? MixtralModel(checkpoint: checkpoint, precision: precision)
        models[precision.description] = model
        return model
    }

    /// A file in the output folder.
    public func output(_ name: String) -> URL { outputDirectory.appendingPathComponent(name) }

    /// Short model name for chart metadata.
    public var modelName: String { checkpoint.directory.lastPathComponent }
}

extension LabContext {
    /// PNG metadata for a chart made in this run.
    public func metadata(title: String, description: String, precision: String? = nil) -> PNGMetadata {
        PNGMetadata(title: title, description: description, source: checkpoint.directory.path,
                    command: commandLine, model: modelName, precision: precision)
    }

    /// Writes `chart` as `file` in the output folder.
    /// - Throws: `ChartError.fileExists` when the file exists and `overwrite` is false.
    public func write(_ chart: some Chart, file: String, caption: String) throws -> ChartFile {
        let url = output(file)
        try writePNG(chart, to: url, overwrite: overwrite)
        return ChartFile(url: url, caption: caption)
    }

    /// A weight tensor of the checkpoint as fp32 `[rows, cols]`.
    /// - Throws: `CheckpointError.missingTensor` / `.badTensor` when it is absent or not 2-D.
    public func weight(_ name: String) throws -> Matrix {
        guard let info = checkpoint.info(name) else {
            throw CheckpointError.missingTensor(path: checkpoint.directory.path, tensor: name)
        }
        guard info.shape.count == 2 else {
            throw CheckpointError.badTensor(path: checkpoint.directory.path, tensor: name, reason: "is not a 2-D weight matrix")
        }
        return try checkpoint.matrix(name, rows: info.shape[0], cols: info.shape[1])
    }

    /// The first `limit` tokens of the model's held-out text (`heldout.txt` in the checkpoint's folder), in
    /// windows of at most 256 tokens that each start with `<s>` — the input of perplexity measurements.
    public func heldoutWindows(limit: Int) throws -> [[Int]] {
        let tokens = Array(try heldoutTokens().prefix(limit))
        return Perplexity.windows(of: tokens, length: heldoutWindowLength, bos: checkpoint.config.bosTokenID)
    }

    /// Tokens in a full window of `heldoutWindows` (with its `<s>`): 256, or the model's context if shorter.
    public var heldoutWindowLength: Int { min(256, checkpoint.config.maxPositionEmbeddings) }

    /// Every token of the model's held-out text (`heldout.txt` beside the checkpoint), without BOS.
    /// - Throws: `CheckpointError.unreadable` when there is no such file.
    public func heldoutTokens() throws -> [Int] {
        let url = checkpoint.folder.appendingPathComponent("heldout.txt")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw CheckpointError.unreadable(path: url.path,
                                             reason: "no held-out text beside the model for perplexity (compare --heldout-tokens 0 skips it)")
        }
        return tokenizer.encode(text, addBOS: false)
    }
}
