import ArgumentParser
import Foundation
import FileChecks
import Engine

/// `mixtral-lab perplexity`: how well the model predicts a text (default: the model's held-out excerpt).
struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Perplexity on a text: exp(mean negative log-likelihood per token), windows each starting with <s>.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var activationOptions: ActivationOptions
    @OptionGroup var precisionOptions: PrecisionOptions
    @Option(help: "UTF-8 text to score (default: heldout.txt next to the model).") var textFile: String?
    @Option(parsing: .unconditional, help: "Score at most N tokens of the text (0 = all).") var maxTokens: Int = 0
    @Option(parsing: .unconditional, help: "Tokens per window, <s> included (default 256, the default model's training length; at most the context).") var window: Int?
    @Option(help: "Output: table or json ({\"perplexity\": Float, \"tokens\": Int}).") var format: OutputFormat = .table

    func validate() throws {
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be ≥ 0") }
        if let window, window < 2 { throw ValidationError("--window must be at least 2") }
    }

    func run() throws { try activationOptions.bound { try runAtActivations() } }

    /// `run` with the products at `--activations`.
    private func runAtActivations() throws {
        let checkpoint = try modelOptions.checkpoint()
        let textURL = textFile.map { URL(fileURLWithPath: $0) } ?? checkpoint.folder.appendingPathComponent("heldout.txt")
        let text: String
        if let textFile {
            guard let utf8 = String(data: try readInputFile(textFile, flag: "--text-file"), encoding: .utf8) else {
                throw ValidationError("--text-file \(textURL.path): is not UTF-8 text")
            }
            text = utf8
        } else {
            guard inputFileProblem(textURL.path) == nil, let heldout = try? String(contentsOf: textURL, encoding: .utf8) else {
                throw ValidationError("no held-out text beside the model (\(textURL.path) is missing or not UTF-8); give one with --text-file")
            }
            text = heldout
        }
        let tokenizer = try modelOptions.tokenizer()
        let precision = precisionOptions.precision
        let model = try loadModel(checkpoint, precision: precision)
        noteWhenRunAsStored(model, precision: precisionOptions)
        var tokens = tokenizer.encode(text, addBOS: false)
        if maxTokens > 0 && tokens.count > maxTokens { tokens = Array(tokens[..<maxTokens]) }
        guard !tokens.isEmpty else { throw ValidationError("--text-file \(textURL.path) has no tokens") }
        let length = window ?? min(model.config.maxPositionEmbeddings, 256)
        guard length <= model.config.maxPositionEmbeddings else {
            throw ValidationError("--window \(length) exceeds the model's context (\(model.config.maxPositionEmbeddings))")
        }
        let windows = Perplexity.windows(of: tokens, length: length, bos: model.config.bosTokenID)
        let progress = Progress(label: "scoring")
        let result = try Perplexity.evaluate(model: model, windows: windows) { progress.update($0, of: $1) }
        progress.finish()
        switch format {
        case .json:
            emit(String(format: "{\"perplexity\": %.6f, \"tokens\": %d}", result.perplexity, result.tokens))
        case .table:
            emit("text        \(textURL.path)")
            emit("precision   \(model.heldPrecision() ?? precision)")   // what ran (stored weights run as stored)
            emit("tokens      \(result.tokens) (windows of \(length), each starting with <s>)")
            emit(String(format: "perplexity  %.4f", result.perplexity))
        }
    }
}
