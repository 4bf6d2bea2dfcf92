import Foundation
import Checkpoints
import Engine
import Quantization

/// A fixture checkpoint of `Tests/EngineTests/Fixtures/<name>/` with transformers' expected outputs.
struct OracleFixture {
    let name: String
    let directory: URL
    let inputIDs: [Int]
    /// `[positions][vocab]`
    let logits: [[Float]]
    /// `[layers][positions][experts]`
    let routerLogits: [[[Float]]]
    let greedyPrompt: [Int]
    let greedyTokens: [Int]

    static let names = ["gqa-untied-fp32", "mqa-headdim-tied", "bf16-8experts", "experts-equal-topk", "sliding-window"]

    init(_ name: String) throws {
        self.name = name
        directory = fixturesURL.appendingPathComponent(name)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("expected.json"))) as! [String: Any]
        inputIDs = json["input_ids"] as! [Int]
        logits = (json["logits"] as! [[Double]]).map { $0.map(Float.init) }
        routerLogits = (json["router_logits"] as! [[[Double]]]).map { $0.map { $0.map(Float.init) } }
        greedyPrompt = json["greedy_prompt"] as! [Int]
        greedyTokens = json["greedy_tokens"] as! [Int]
    }

    func model(precision: String = "fp32") throws -> MixtralModel {
        try MixtralModel(checkpoint: Checkpoint(directory: directory), precision: PrecisionSpec(parsing: precision))
    }
}

let fixturesURL = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

/// Records raw router logits `[layers][positions][experts]`.
final class RouterRecorder: ForwardObserver {
    var logits: [[[Float]]]
    init(layers: Int) { logits = Array(repeating: [], count: layers) }
    func routed(_ decision: RoutingDecision) { logits[decision.layer].append(decision.routerLogits) }
}
