import ArgumentParser
import Foundation
import FileChecks
import Checkpoints
import Engine
import Quantization
import Tensors

/// `--model`: a checkpoint directory or a GGUF file; the embedded default model when absent.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Checkpoint directory (config.json, *.safetensors, tokenizer.json) or GGUF file (e.g. an Ollama blob). Default: the embedded Shakespeare model.")
    var model: String?

    /// The checkpoint directory or GGUF file to use.
    func directory() throws -> URL {
        if let model { return URL(fileURLWithPath: model) }
        return try DefaultModel.locate()
    }

    func checkpoint() throws -> Checkpoint { try Checkpoint(directory: directory()) }

    /// The directory's tokenizer.json, or a GGUF file's SentencePiece vocabulary (`tokenizer.ggml.*`).
    func tokenizer() throws -> Tokenizer {
        let url = try directory()
        if GGUFFile.hasMagic(url) {
            return try Tokenizer(sentencePiece: SentencePieceVocabulary(gguf: GGUFFile(url: url)), source: url.path)
        }
        return try Tokenizer(contentsOf: url.appendingPathComponent("tokenizer.json"))
    }

    /// `tokenizer()`, or nil when a checkpoint directory has no tokenizer.json (the commands that take
    /// `--token-ids` run without one). A tokenizer.json that is there but cannot be read is an error.
    /// - Throws: what `tokenizer()` throws.
    func tokenizerIfPresent() throws -> Tokenizer? {
        let url = try directory()
        if !GGUFFile.hasMagic(url) && FileKind(path: url.appendingPathComponent("tokenizer.json").path) == .missing {
            return nil
        }
        return try tokenizer()
    }
}

/// `--precision`: one precision for every weight, or one per tensor class.
struct PrecisionOptions: ParsableArguments {
    /// Parsed when the command line is: a bad spec is a usage error naming the flag, before anything loads.
    @Option(name: .customLong("precision"), help: ArgumentHelp(
        "Weight precision: fp32|bf16|f16|int8|q4|nf4|nf4-dq|hqq4|hqq3|hqq2|hqq4-f16meta|hqq3-f16meta|hqq2-f16meta, or per tensor class, e.g. attn=hqq4,experts=hqq2 (unnamed classes fp32). Default: fp32 (a checkpoint that stores quantized or 16-bit weights runs them as stored).",
        valueName: "spec"), transform: PrecisionSpec.init(parsing:))
    var precisionFlag: PrecisionSpec?

    /// `--precision`, default fp32.
    var precision: PrecisionSpec { precisionFlag ?? PrecisionSpec(uniform: .fp32) }

    /// What `model`, loaded at `precision`, runs: its stored precisions when the checkpoint stores
    /// quantized or 16-bit weights (`heldPrecision()`), else `precision`. For labels.
    func running(_ model: MixtralModel) -> PrecisionSpec { model.heldPrecision() ?? precision }
}

/// Parses "1,2,3" into token ids for `--token-ids` and `--decode`.
func parseTokenIDs(_ text: String, flag: String) throws -> [Int] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    var ids: [Int] = []
    for part in parts {
        guard let id = Int(part), id >= 0 else { throw ValidationError("\(flag): \"\(part)\" is not a token id (expected comma-separated non-negative integers)") }
        ids.append(id)
    }
    return ids
}

/// Loads a model at a precision, with a progress line on stderr when loading takes over a second.
/// - Parameter experts: `.streamed(provider)` leaves the experts on disk (`RAMBudgetOptions`).
func loadModel(_ checkpoint: Checkpoint, precision: PrecisionSpec, experts: ExpertResidency = .resident) throws -> MixtralModel {
    setBLASThreads(recommendedBLASThreads(checkpoint.config))
    let progress = Progress(label: "loading \(checkpoint.directory.lastPathComponent) at \(precision)")
    defer { progress.finish() }
    return try MixtralModel(checkpoint: checkpoint, precision: precision, experts: experts) { done, total in progress.update(done, of: total) }
}

/// The note for a model whose checkpoint stores weights quantized or at 16 bits: those load as stored (a
/// GGUF file's Q4_0 tensors run as q4), whatever `flag` (`--precision`, `--precisions`) asked for.
func runAsStoredNote(flag: String) -> String {
    "the checkpoint stores weights quantized or at 16 bits; they run as stored whatever \(flag) asks"
}

/// `runAsStoredNote(flag:)` with what runs instead, when `--precision` asked for other precisions than
/// `model` holds; nil when it was not given (the checkpoint then runs as stored, and commands label their
/// numbers with what ran: `PrecisionOptions.running`), when the model holds what was asked, or when it
/// streams its experts (so `heldPrecision()` cannot tell).
func runAsStoredNote(_ model: MixtralModel, precision options: PrecisionOptions) -> String? {
    guard let asked = options.precisionFlag, let held = model.heldPrecision(), held != asked else { return nil }
    return runAsStoredNote(flag: "--precision") + " (asked: \(asked); running: \(held))"
}

/// For the commands with one `--precision` (generate, logits, perplexity, step, trace): a note on
/// standard error when `model` runs stored weights instead of the `--precision` given, so no number is
/// silently labelled with a precision that did not run.
func noteWhenRunAsStored(_ model: MixtralModel, precision options: PrecisionOptions) {
    if let stored = runAsStoredNote(model, precision: options) { note("note: " + stored) }
}

/// `--activations`: how activations meet int8/q4/HQQ weights in the products (`ActivationPrecision`).
struct ActivationOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "fp32 (default: exact activations, so the error is the weights' alone) or q8 (activations rounded to 8 bits per block of 32 as llama.cpp does, then integer dot products; affects int8, q4 and HQQ weights only).",
        valueName: "fp32|q8"))
    var activations: ActivationPrecision = .fp32

    /// Runs `body` with the products at `activations`.
    func bound<R>(_ body: () throws -> R) rethrows -> R {
        try ActivationPrecision.$current.withValue(activations, operation: body)
    }
}

extension ActivationPrecision: ExpressibleByArgument {}
