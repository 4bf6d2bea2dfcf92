import ArgumentParser
import Checkpoints
import Offloading

/// `--prompt`, `--token-ids`: what a generating command continues (generate, trace, step, compare).
struct PromptOptions: ParsableArguments {
    @Option(help: "Text to continue (default: \"ROMEO:\\n\").") var prompt: String?
    @Option(parsing: .unconditional, help: "Prompt as comma-separated token ids instead of --prompt, e.g. 1,2,3 (runs checkpoints without tokenizer.json on generate, trace and step — generate then prints token ids; compare needs it).")
    var tokenIds: String?

    /// The text continued: `--prompt`, or the default prompt when neither flag is given.
    var text: String { prompt ?? "ROMEO:\n" }

    /// - Throws: `ValidationError` when both `--prompt` and `--token-ids` are given (one would be ignored).
    func validate() throws {
        if prompt != nil && tokenIds != nil { throw ValidationError("give --prompt or --token-ids, not both") }
    }

    /// The prompt's token ids: `--token-ids` when given, else `--prompt` encoded with BOS.
    /// - Throws: `ValidationError` for a malformed `--token-ids` or one outside the vocabulary, without a tokenizer and without
    ///   `--token-ids`, or when the prompt plus `maxTokens` exceeds the model's `context` (positions).
    func tokens(tokenizer: Tokenizer?, checkpoint: Checkpoint, maxTokens: Int, context: Int) throws -> [Int] {
        let ids: [Int]
        if let tokenIds {
            ids = try parseTokenIDs(tokenIds, flag: "--token-ids")
            let vocabularySize = checkpoint.config.vocabSize
            if let bad = ids.first(where: { $0 >= vocabularySize }) {
                throw ValidationError("--token-ids: \(bad) is outside the vocabulary (0..<\(vocabularySize))")
            }
        } else if let tokenizer {
            ids = tokenizer.encode(text, addBOS: true)
        } else {
            throw ValidationError("--model \(checkpoint.directory.path) has no tokenizer.json; give the prompt as --token-ids")
        }
        guard ids.count + maxTokens <= context else {
            throw ValidationError("the prompt is \(counted(ids.count, "token")); with --max-tokens \(maxTokens) that exceeds the model's context of \(context) positions")
        }
        return ids
    }
}
