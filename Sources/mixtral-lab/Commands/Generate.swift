import ArgumentParser
import Foundation
import Checkpoints
import Engine

/// `mixtral-lab generate`: continue a prompt, streaming tokens as they are produced.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Continue a prompt with the model (greedy by default).")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var precisionOptions: PrecisionOptions
    @Option(help: "Text to continue.") var prompt: String = "ROMEO:\n"
    @Option(help: "Most new tokens.") var maxTokens: Int = 100
    @Option(help: "Sampling temperature; 0 = greedy.") var temperature: Float = 0
    @Option(help: "Keep only the K most likely tokens when sampling (0 = all).") var topK: Int = 0
    @Option(help: "Nucleus sampling: keep the most likely tokens up to probability P.") var topP: Float = 1
    @Option(help: "Random seed for sampling (same seed, same text).") var seed: UInt64 = 0

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        guard temperature >= 0 else { throw ValidationError("--temperature must be ≥ 0") }
        guard topK >= 0 else { throw ValidationError("--top-k must be ≥ 0") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
    }

    func run() throws {
        let checkpoint = try modelOptions.checkpoint()
        let tokenizer = try modelOptions.tokenizer()
        let model = try loadModel(checkpoint, precision: try precisionOptions.spec())
        let promptIDs = tokenizer.encode(prompt, addBOS: true)
        if promptIDs.count + maxTokens > model.config.maxPositionEmbeddings {
            throw ValidationError("--prompt is \(promptIDs.count) tokens; with --max-tokens \(maxTokens) that exceeds the model's context of \(model.config.maxPositionEmbeddings) positions")
        }
        var generator = Generator(model: model, sampler: Sampler(temperature: temperature, topK: topK, topP: topP, seed: seed))
        emit(prompt, newline: false)
        // Decode the growing suffix so multi-byte characters split across byte tokens print whole.
        let stopToken = generator.stopToken
        let promptText = tokenizer.decode(promptIDs, skipSpecialTokens: true)
        var produced: [Int] = []
        var printed = ""
        try generator.generate(prompt: promptIDs, maxTokens: maxTokens) { token in
            if token == stopToken { return }
            produced.append(token)
            let text = tokenizer.decode(promptIDs + produced, skipSpecialTokens: true)
            let continuation = String(text.dropFirst(promptText.count))
            if continuation.hasPrefix(printed), !continuation.hasSuffix("\u{FFFD}") {
                emit(String(continuation.dropFirst(printed.count)), newline: false)
                printed = continuation
            }
        }
        emit("")
    }
}
