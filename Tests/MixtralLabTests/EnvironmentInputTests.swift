import Foundation
import Testing
import TestSupport
@testable import mixtral_lab

/// Class 7 of issue #18: what comes from outside — arguments, files named by flags, the environment —
/// is checked, not taken on trust.
struct InvalidUTF8ArgumentTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func aPromptWithABadByteIsRefusedNamingTheFlag() {
        let message = invalidUTF8Argument([bytes("generate"), bytes("--prompt"), bytes("ROMEO") + [0xFF] + bytes(":")])
        #expect(message == "--prompt: is not UTF-8 text (byte 0xFF at offset 5)")
    }

    @Test func theEqualsFormNamesTheFlagToo() {
        let message = invalidUTF8Argument([bytes("generate"), bytes("--prompt=ab") + [0xC3]])
        #expect(message == "--prompt: is not UTF-8 text (byte 0xC3 at offset 2)")
    }

    @Test func aBadPositionalArgumentIsNamedByPosition() {
        #expect(invalidUTF8Argument([bytes("tokenize"), [0x61, 0xE2, 0x82]]) == "argument 2 is not UTF-8 text (byte 0xE2 at offset 1)")
    }

    @Test func validTextPasses() {
        #expect(invalidUTF8Argument([bytes("generate"), bytes("--prompt"), bytes("ça ☃ 𝄞")]) == nil)
        #expect(firstInvalidUTF8Offset([]) == nil)
    }

    @Test func overlongAndSurrogateEncodingsAreInvalid() {
        #expect(firstInvalidUTF8Offset([0x41, 0xC0, 0x80]) == 1)        // overlong NUL
        #expect(firstInvalidUTF8Offset([0xED, 0xA0, 0x80]) == 0)        // UTF-16 surrogate
    }
}

struct SpecialInputFileTests {
    let scratch = try! TemporaryDirectory("special-inputs")

    @Test func aModelThatIsANamedPipeIsRefusedWithoutWaiting() {
        let pipe = scratch.url.appendingPathComponent("model.gguf")
        #expect(mkfifo(pipe.path, 0o600) == 0)
        let result = failure(["info", "--model", pipe.path])
        #expect(result?.code == 2)
        #expect(result?.message == "\(pipe.path): cannot read (is a named pipe (FIFO), not a regular file; a model is a checkpoint folder or a GGUF file)"
                || result?.message.contains("is a named pipe (FIFO), not a regular file; a model is a checkpoint folder or a GGUF file") == true,
                "\(String(describing: result))")
    }

    @Test func aModelThatIsADeviceIsRefused() {
        let result = failure(["generate", "--model", "/dev/zero", "--max-tokens", "1"])
        #expect(result?.code == 2)
        #expect(result?.message.contains("is a character device, not a regular file") == true)
    }

    @Test func aConfigThatIsANamedPipeIsRefused() throws {
        let folder = try scratch.newFolder()
        #expect(mkfifo(folder.appendingPathComponent("config.json").path, 0o600) == 0)
        let result = failure(["info", "--model", folder.path])
        #expect(result?.code == 2)
        #expect(result?.message.contains("config.json") == true && result?.message.contains("named pipe") == true)
    }

    @Test(arguments: [["perplexity", "--text-file"], ["chart", "transfers", "--out", "/nonexistent-out", "--trace"]])
    func inputFlagsRefuseNamedPipes(_ command: [String]) {
        let pipe = scratch.url.appendingPathComponent("input")
        #expect(mkfifo(pipe.path, 0o600) == 0)
        let result = failure(command + [pipe.path])
        #expect(result?.code == 2)
        #expect(result?.message == "\(command.last!) \(pipe.path): is a named pipe (FIFO), not a regular file")
    }

    @Test func aHardwareFileThatIsANamedPipeIsRefused() {
        let pipe = scratch.url.appendingPathComponent("hw.json")
        #expect(mkfifo(pipe.path, 0o600) == 0)
        let result = failure(["plan", "--model", "mixtral-8x7b", "--ram", "16GiB", "--hardware", pipe.path])
        #expect(result?.code == 2)
        #expect(result?.message.contains("named pipe") == true)
    }
}
