import Testing
import Foundation
import Checkpoints
import TestSupport

/// A GGUF file whose expert tensors are of a type the engine does not read (IQ4_NL) is refused the same way
/// by every command that loads it, when the file is opened, and no command leaves a file or folder behind
/// (fresh-user review 10, F11: three different messages, and `--ram-budget` left an empty store folder).
///
/// The file is the default model exported at q4 with the expert tensors' type id rewritten to IQ4_NL's (20):
/// IQ4_NL's blocks have Q4_0's size (32 weights in 2 + 16 bytes: a half-precision scale and 4-bit indices,
/// gguf-py `GGML_QUANT_SIZES`), so the file is laid out as an IQ4_NL GGUF, only its weights' values differ
/// (the test never decodes them). The same refusal was seen on a file llama.cpp's `llama-quantize
/// --tensor-type ffn_gate_exps=iq4_nl` (and up/down) wrote from an F32 export of the default model.
struct UnsupportedGGUFTypeTests {
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("iq4-nl") }

    private func iq4NLExperts() throws -> URL {
        let q4 = scratch.url.appendingPathComponent("q4.gguf")
        #expect(failure(["export", "--format", "gguf", "--precision", "q4", "--output", q4.path]) == nil)
        let file = try GGUFFile(url: q4)
        var writer = GGUFWriter()
        for key in file.metadataKeys where key != "general.alignment" { writer.add(key, file.metadata[key]!) }
        let iq4NL = try #require(GGMLType(id: 20))
        #expect(iq4NL.name == "IQ4_NL" && iq4NL.blockSize == GGMLType.q4_0.blockSize && iq4NL.typeSize == GGMLType.q4_0.typeSize)
        for tensor in file.tensors {
            let expert = tensor.name.hasSuffix("_exps.weight")
            #expect(!expert || tensor.type == .q4_0)
            writer.addTensor(tensor.name, type: expert ? iq4NL : tensor.type, dimensions: tensor.dimensions, bytes: Array(file.bytes(tensor)))
        }
        let url = scratch.url.appendingPathComponent("iq4-nl.gguf")
        _ = try writer.write(to: url)
        try FileManager.default.removeItem(at: q4)
        return url
    }

    @Test func everyCommandSaysTheSameAndLeavesNothing() throws {
        let model = try iq4NLExperts().path
        let left = scratch.url.appendingPathComponent("outputs")
        try FileManager.default.createDirectory(at: left, withIntermediateDirectories: false)
        func output(_ name: String) -> String { left.appendingPathComponent(name).path }
        let commands: [[String]] = [
            ["generate", "--max-tokens", "2"],
            ["generate", "--max-tokens", "2", "--ram-budget", "64MiB", "--offload-store", output("store")],
            ["generate", "--max-tokens", "2", "--mmap-experts"],
            ["info"],
            ["logits", "--token-ids", "1,2"],
            ["trace", "--max-tokens", "2", "--out", output("trace")],
            ["export", "--format", "gguf", "--precision", "q4", "--output", output("export.gguf")],
            ["compare", "--max-tokens", "2", "--charts", output("charts")],
            ["lesson", "run", "5", "--out", output("lesson")],
            ["lesson", "run", "3", "--mmap-experts", "--out", output("lesson")],
        ]
        var messages: Set<String> = []
        for command in commands {
            let result = failure(command + ["--model", model])
            #expect(result?.code == 2, "\(command)")
            messages.insert(result?.message ?? "accepted: \(command)")
        }
        #expect(messages.count == 1, "\(messages.sorted().joined(separator: "\n"))")
        let message = try #require(messages.first)
        #expect(message.hasPrefix("\(model): tensor blk.0.ffn_"), "\(message)")
        #expect(message.hasSuffix("_exps.weight: type IQ4_NL is not supported (mixtral-lab reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q4_K, Q6_K)"),
                "\(message)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: left.path) == [])
    }
}
