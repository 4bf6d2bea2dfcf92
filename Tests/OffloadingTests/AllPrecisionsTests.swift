import Testing
import Checkpoints
import Engine
import Offloading
import Quantization
import Foundation
import Tensors
import TestSupport

/// The logits invariant at every precision, on a random model whose rows are multiples of the GGML block
/// of 32 and the NF4 block of 64 (the checkpoint fixture's 48-wide rows fit neither).
struct AllPrecisionsTests {
    /// A random checkpoint written to a temporary directory (removed when the tests end): hidden 64, intermediate 128, 2 layers,
    /// 8 experts top-2, vocab 64; weights uniform in ±1/√fan_in, norms 1. Loaded at every precision.
    static let checkpoint: URL = {
        let h = 64, i = 128, layers = 2, experts = 8, vocab = 64, kv = 2 * 16
        var random = SplitMix64(seed: 2026)
        var tensors: [(String, [Int], [Float])] = []
        func add(_ name: String, _ shape: [Int], norm: Bool = false) {
            let count = shape.reduce(1, *)
            let scale = 1 / Float(shape.last!).squareRoot()
            tensors.append((name, shape, norm ? Array(repeating: 1, count: count)
                                              : (0..<count).map { _ in (Float(random.below(2001)) / 1000 - 1) * scale }))
        }
        add(WeightNames.embedding, [vocab, h])
        add(WeightNames.lmHead, [vocab, h])
        add(WeightNames.finalNorm, [h], norm: true)
        for l in 0..<layers {
            add(WeightNames.inputNorm(l), [h], norm: true)
            add(WeightNames.postAttentionNorm(l), [h], norm: true)
            add(WeightNames.qProj(l), [h, h]); add(WeightNames.kProj(l), [kv, h])
            add(WeightNames.vProj(l), [kv, h]); add(WeightNames.oProj(l), [h, h])
            add(WeightNames.router(l), [experts, h])
            for e in 0..<experts {
                add(WeightNames.expert(l, e, "w1"), [i, h]); add(WeightNames.expert(l, e, "w2"), [h, i])
                add(WeightNames.expert(l, e, "w3"), [i, h])
            }
        }
        let directory = try! TemporaryDirectory.untilExit("offloading-random")
        let config = """
        {"model_type": "mixtral", "vocab_size": \(vocab), "hidden_size": \(h), "intermediate_size": \(i),
         "num_hidden_layers": \(layers), "num_attention_heads": 4, "num_key_value_heads": 2, "num_local_experts": \(experts),
         "num_experts_per_tok": 2, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 64,
         "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2}
        """
        try! config.write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try! writeSafeTensors(tensors, to: directory.appendingPathComponent("model.safetensors"))
        return directory
    }()

    /// The safetensors layout (huggingface/safetensors README): u64 little-endian header size, a JSON header
    /// of `{name: {dtype, shape, data_offsets}}`, then the raw little-endian F32 data.
    static func writeSafeTensors(_ tensors: [(String, [Int], [Float])], to url: URL) throws {
        var header: [String] = []
        var data = Data()
        for (name, shape, values) in tensors {
            let begin = data.count
            values.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: $0.count * 4)) }
            header.append("\"\(name)\": {\"dtype\": \"F32\", \"shape\": \(shape), \"data_offsets\": [\(begin), \(data.count)]}")
        }
        var json = Data(("{" + header.joined(separator: ", ") + "}").utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(data)
        try file.write(to: url)
    }

    @Test(arguments: Precision.allCases.filter { !$0.needsCalibration })  // gptq4/awq4 are experts-only (CalibratedPrecisionTests)
    func policiesNeverChangeTheLogits(precision: Precision) throws {
        let model = try MixtralModel(checkpoint: Checkpoint(directory: Self.checkpoint), precision: PrecisionSpec(uniform: precision))
        let cost = CostModel(hardware: .rtx3060, footprint: ModelFootprint(model: model))
        let prompt = [1, 9, 33, 2, 60, 17]
        func run(_ observer: ((MixtralModel) -> RoutingRecorder)?, _ afterForward: () -> Void) throws -> [[UInt32]] {
            let session = Session(model: model, capacity: 16)
            session.observer = observer?(model)
            var logits = [try model.forward(prompt, session: session)]
            afterForward()
            for _ in 0..<5 {
                let next = logits.last!.indices.max { logits.last![$0] < logits.last![$1] }!
                logits.append(try model.forward([next], session: session))
                afterForward()
            }
            return logits.map { $0.map(\.bitPattern) }
        }
        let reference = try run(nil) {}
        for policy in PolicySpec.all(prefetch: PrefetchSettings(experts: 2, lookahead: 1)) where policy != .optimal {
            for slots in [0, 2, 8] {
                let simulator = try OffloadingSimulator(policy: policy, cacheExperts: slots, cost: cost)
                let observed = try run({ m in RoutingRecorder(model: m, lookahead: policy.lookahead) { simulator.process($0) } }) {
                    simulator.finishForward()
                }
                #expect(observed == reference, "\(policy), \(slots) slots, \(precision)")
            }
        }
    }
}
