import Checkpoints
import Foundation
import Testing
import TestSupport
@testable import mixtral_lab

/// Class 4 of issue #18: a model whose numbers leave fp32's range is refused with one message naming
/// where the first NaN or infinity appeared (block, layer, position) — exit 2 from every command that runs
/// it, never `-nan` in a table, invalid JSON, an internal error or a silently empty continuation.
struct NonFiniteTests {
    static let folder = try! TemporaryDirectory.untilExit("non-finite")

    /// The default model with `change` applied to each tensor (by name), written beside its tokenizer.
    static func broken(_ label: String, _ change: (String, inout [Float]) -> Void) throws -> URL {
        let source = try ModelOptions.parse([]).directory()
        let checkpoint = try Checkpoint(directory: source)
        let output = folder.appendingPathComponent(label)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        var writer = SafeTensorsWriter()
        for tensor in checkpoint.tensorNames.sorted() {
            var values = try checkpoint.floats(tensor)
            change(tensor, &values)
            writer.add(tensor, shape: checkpoint.info(tensor)!.shape, floats: values)
        }
        _ = try writer.write(to: output.appendingPathComponent("model.safetensors"))
        for file in ["config.json", "tokenizer.json", "heldout.txt"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: output.appendingPathComponent(file))
        }
        return output
    }

    /// o_proj of layer 1 scaled past fp32's range: its attention block overflows at every position.
    static let overflowing = try! broken("overflow") { name, values in
        guard name == "model.layers.1.self_attn.o_proj.weight" else { return }
        for i in values.indices { values[i] *= 1e38 }
    }

    @Test(arguments: [["perplexity"], ["perplexity", "--format", "json"], ["generate", "--max-tokens", "3"],
                      ["logits", "--token-ids", "1,2,3"], ["compare", "--precisions", "q4", "--max-tokens", "2"]])
    func everyCommandRefusesTheOverflowNamingWhere(_ command: [String]) {
        let result = failure(command + ["--model", Self.overflowing.path])
        #expect(result?.code == 2)
        #expect(result?.message.hasPrefix("the model's numbers left fp32's range: ") == true, "\(String(describing: result))")
        #expect(result?.message.contains("in the residual stream after layer 1's attention block at position 0,") == true,
                "\(String(describing: result))")
    }

    @Test func expertsThatOverflowArePlacedThere() throws {
        // gate and up projections of every expert of layer 2 (whichever the router picks) scaled by 1e25:
        // their product, the intermediate activation, is about 1e50, past fp32's range
        let model = try Self.broken("overflow-w1-w3") { name, values in
            guard name.hasPrefix("model.layers.2.block_sparse_moe.experts."), name.hasSuffix(".w1.weight") || name.hasSuffix(".w3.weight") else { return }
            for i in values.indices { values[i] *= 1e25 }
        }
        let result = failure(["logits", "--token-ids", "1,2,3,4", "--model", model.path])
        #expect(result?.code == 2)
        #expect(result?.message.contains("in the residual stream after layer 2's mixture-of-experts block at position 0,") == true,
                "\(String(describing: result))")
    }

    /// A NaN or infinite weight never reaches the forward pass: loading refuses it, naming the element.
    @Test(arguments: [("model.embed_tokens.weight", Float.infinity), ("model.layers.2.block_sparse_moe.experts.5.w2.weight", .nan)])
    func aNonFiniteWeightIsRefusedAtLoad(_ tensor: String, _ value: Float) throws {
        let model = try Self.broken("bad-weight-\(tensor)-\(value)") { name, values in
            if name == tensor { values[3] = value }
        }
        let result = failure(["logits", "--token-ids", "1,2,3,4", "--model", model.path])
        #expect(result?.code == 2)
        #expect(result?.message.hasSuffix("tensor \(tensor): element [0, 3] is \(value); the weights are corrupt") == true,
                "\(String(describing: result))")
    }

    @Test func aFiniteModelRuns() {
        #expect(failure(["logits", "--token-ids", "1,2,3"]) == nil)
    }
}
