import Foundation
import Testing
import TestSupport
import Checkpoints
@testable import mixtral_lab

/// `generate --token-ids` on a checkpoint without tokenizer.json: the model's tokens come from the ids, so
/// it runs, and prints the prompt's and the new tokens' ids as `--token-ids` takes them (said on standard
/// error); with a tokenizer the same run prints the decoded text. A prompt given as text still needs the
/// tokenizer, and a tokenizer.json that is there but broken is an error, never read as "no tokenizer".
struct TokenIDsWithoutTokenizerTests {
    let scratch = try! TemporaryDirectory("no-tokenizer")

    /// A copy of the default model's config and weights, without tokenizer.json.
    private func modelWithoutTokenizer() throws -> URL {
        let model = try scratch.newFolder()
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: DefaultModel.locate().appendingPathComponent(file), to: model.appendingPathComponent(file))
        }
        return model
    }

    @Test func generatePrintsTheIDsWithoutATokenizerAndTheirTextWithOne() throws {
        let model = try modelWithoutTokenizer()
        let tokenizer = try Tokenizer(contentsOf: DefaultModel.locate().appendingPathComponent("tokenizer.json"))
        let prompt = tokenizer.encode("ROMEO:\n", addBOS: true)
        let flags = ["--token-ids", prompt.map(String.init).joined(separator: ","), "--max-tokens", "6"]
        var errors = ""
        let ids = try standardOutput {
            errors = try standardError { #expect(failure(["generate", "--model", model.path] + flags) == nil) }
        }
        #expect(errors.contains("\(model.path) has no tokenizer.json, so the prompt and the new tokens print as token ids"), "\(errors)")
        #expect(ids.hasSuffix("\n"), "\(ids)")
        let printed = ids.trimmingCharacters(in: .newlines).split(separator: ",").compactMap { Int($0) }
        #expect(printed.count > prompt.count && Array(printed.prefix(prompt.count)) == prompt, "\(ids)")
        // the same run with the tokenizer prints those tokens' text: the ids are the tokens generated
        let text = try standardOutput { #expect(failure(["generate"] + flags) == nil) }
        #expect(text == tokenizer.decode(printed, skipSpecialTokens: true) + "\n", "\(text) against \(ids)")
    }

    @Test func aTextPromptStillNeedsTheTokenizer() throws {
        let model = try modelWithoutTokenizer()
        let result = failure(["generate", "--model", model.path, "--prompt", "ROMEO:", "--max-tokens", "1"])
        #expect(result?.code == 2)
        #expect(result?.message == "--model \(model.path) has no tokenizer.json; give the prompt as --token-ids", "\(String(describing: result))")
    }

    @Test func aBrokenTokenizerIsAnErrorNotAMissingOne() throws {
        let model = try modelWithoutTokenizer()
        try Data("{ not json".utf8).write(to: model.appendingPathComponent("tokenizer.json"))
        for command in ["generate", "trace"] {
            let out = scratch.url.appendingPathComponent("trace-\(UUID().uuidString)").path
            let result = failure([command, "--model", model.path, "--token-ids", "1,5", "--max-tokens", "1"] + (command == "trace" ? ["--out", out] : []))
            #expect(result?.code == 2, "\(command): \(String(describing: result))")
            #expect(result?.message.contains("tokenizer.json") == true, "\(command): \(String(describing: result))")
        }
    }
}
