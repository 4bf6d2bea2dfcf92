import Foundation
import Checkpoints
import Engine
import Offloading
import Quantization
import Tracing

/// A model shape with `layers` MoE layers of `experts` experts, top-`topK`, fp32 (each expert
/// 3 · 8 · 16 · 4 = 1536 bytes), for hand-made routing sequences.
func tinyFootprint(layers: Int = 1, experts: Int = 4, topK: Int = 1) -> ModelFootprint {
    let config = MixtralConfig(vocabSize: 16, hiddenSize: 8, intermediateSize: 16, numHiddenLayers: layers,
                               numAttentionHeads: 2, numKeyValueHeads: 1, numExperts: experts, numExpertsPerToken: topK)
    return ModelFootprint(config: config, precision: PrecisionSpec(uniform: .fp32))
}

/// Round numbers so times can be checked by hand: 1 GB/s link (1 byte = 1 ns) with 10 µs latency.
let roundHardware = HardwareProfile(name: "round", fastMemoryBytes: 1 << 30, slowMemoryBytes: 1 << 34,
                                    computeFlops: 1e12, memoryBandwidth: 1e11, linkBandwidth: 1e9, linkLatencyUs: 10)

/// One forward call per entry: `calls[c][t]` is the experts of token t (best first). The first call is
/// the prefill; every layer sees the same experts.
func forwards(_ calls: [[[Int]]], layers: Int = 1) -> [[LayerStep]] {
    var position = 0
    return calls.enumerated().map { c, tokens in
        let steps = (0..<layers).map { l in
            LayerStep(layer: l, phase: c == 0 ? .prefill : .decode, tokens: tokens.enumerated().map { t, experts in
                TokenRouting(position: position + t, routerLogits: [], experts: experts,
                             weights: Array(repeating: 1 / Float(experts.count), count: experts.count))
            })
        }
        position += tokens.count
        return steps
    }
}

/// Collects records in memory (tests only; real writers stream to disk).
final class RecordingSink: TraceSink {
    var layers: [LayerRecord] = []
    var tokens: [TokenRecord] = []
    func write(_ record: LayerRecord) { layers.append(record) }
    func write(_ record: TokenRecord) { tokens.append(record) }
    func close() throws {}
}

/// Runs hand-made forward calls through a policy; returns the summary and every layer record.
func run(_ policy: PolicySpec, slots: Int, _ calls: [[LayerStep]], footprint: ModelFootprint,
         hardware: HardwareProfile = roundHardware) throws -> (OffloadingSummary, [LayerRecord]) {
    let sink = RecordingSink()
    var future = Array(repeating: [[Int]](), count: footprint.numLayers)
    for call in calls { for step in call { future[step.layer].append(step.distinctExperts) } }
    let simulator = try OffloadingSimulator(policy: policy, cacheExperts: slots,
                                            cost: CostModel(hardware: hardware, footprint: footprint),
                                            future: future, sinks: [sink])
    for call in calls {
        for step in call { simulator.process(step) }
        simulator.finishForward()
    }
    return (simulator.summary, sink.layers)
}

let fixtureDirectory = Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent("bf16-8experts")

func fixtureModel(precision: String = "fp32") throws -> MixtralModel {
    try MixtralModel(checkpoint: Checkpoint(directory: fixtureDirectory), precision: PrecisionSpec(parsing: precision))
}

/// Logits after `prompt` and after each of `steps` greedy decode steps, as bit patterns (for comparing
/// two runs of a model bit for bit: resident against streamed, before against after a change).
func greedyLogitBits(_ model: MixtralModel, prompt: [Int], steps: Int = 6) throws -> [[UInt32]] {
    let session = Session(model: model, capacity: prompt.count + steps + 2)
    var all = [try model.forward(prompt, session: session)]
    for _ in 0..<steps {
        let next = all.last!.indices.max { all.last![$0] < all.last![$1] }!
        all.append(try model.forward([next], session: session))
    }
    return all.map { $0.map(\.bitPattern) }
}
