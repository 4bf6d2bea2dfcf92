import Testing
import Foundation
import TestSupport

/// `generate` on a GGUF file whose weights are Q4_0 says on standard error that `--precision nf4` does not
/// apply to them (bench's wording), and says nothing when the precision asked is what runs or when no
/// `--precision` was given (the checkpoint then simply runs as stored).
struct RunAsStoredNoteTests {
    @Test func generateNotesThatStoredWeightsIgnorePrecision() throws {
        try withTemporaryDirectory("run-as-stored") { folder in
            let gguf = folder.appendingPathComponent("q4.gguf").path
            #expect(failure(["export", "--format", "gguf", "--precision", "q4", "--output", gguf]) == nil)
            let asked = try standardError {
                #expect(failure(["generate", "--model", gguf, "--precision", "nf4", "--max-tokens", "1"]) == nil)
            }
            #expect(asked.contains("note: the checkpoint stores weights quantized or at 16 bits; they run as stored whatever --precision asks (asked: nf4; running: "),
                    "\(asked)")
            let held = try standardError {
                #expect(failure(["generate", "--model", gguf, "--precision", "q4", "--max-tokens", "1"]) == nil)
            }
            // (another test running at the same time may print its own note, for its own --precision)
            #expect(!held.contains("whatever --precision asks (asked: q4;"), "\(held)")
            let notAsked = try standardError {
                #expect(failure(["generate", "--model", gguf, "--max-tokens", "1"]) == nil)
            }
            #expect(!notAsked.contains("whatever --precision asks (asked: fp32"), "\(notAsked)")
            // the other commands with one --precision say the same
            let text = folder.appendingPathComponent("text.txt")
            try "ROMEO: But soft, what light through yonder window breaks?".write(to: text, atomically: true, encoding: .utf8)
            for command in [["perplexity", "--text-file", text.path], ["logits", "--token-ids", "1,2"]] {
                let noted = try standardError {
                    #expect(failure(command + ["--model", gguf, "--precision", "nf4"]) == nil, "\(command[0])")
                }
                #expect(noted.contains("they run as stored whatever --precision asks (asked: nf4; running: "), "\(command[0]): \(noted)")
            }
        }
    }
}
