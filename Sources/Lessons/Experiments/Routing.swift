import Foundation
import Engine
import Charts
import Checkpoints

/// Lesson 5's experiment: what the router does. Router logits, softmax, top-k and renormalised weights for
/// one token; a heatmap of one layer's routing over a text; how evenly each layer uses its experts; how
/// often a token reuses an expert of the token before it (what an expert cache relies on).
struct RoutingExperiment: Experiment {
    static let name = "routing"
    static let summary = "Router logits and top-k for one token, routing heatmap, load balance and expert reuse between neighbouring tokens."
    static let parameters = [
        ParameterSpec("prompt", .text, "text to route", default: "ROMEO:\nBut soft, what light through yonder window breaks?\n"),
        ParameterSpec("layer", .int, "layer shown in the heatmap and the one-token table", default: 0),
        ParameterSpec("token", .int, "index of the token shown in the one-token table (−1 = last)", default: -1),
        ParameterSpec("max_tokens", .int, "greedy tokens generated after the prompt (their routes count too)", default: 64),
    ]
    static let resultKeys = ["token_text", "token_table", "layer", "usage_table", "reuse", "uniform_reuse", "reuse_min", "reuse_max",
                             "entropy_min", "entropy_max", "max_entropy", "top_expert", "top_share", "tokens", "experts", "k"]

    let prompt: String
    let layer: Int
    let token: Int
    let maxTokens: Int

    init(_ parameters: ExperimentParameters) throws {
        prompt = parameters.text("prompt")
        layer = parameters.int("layer")
        token = parameters.int("token")
        maxTokens = parameters.int("max_tokens")
        guard maxTokens >= 0 else { throw ExperimentParameterError.invalid("max_tokens", reason: "must be ≥ 0") }
    }

    func run(in lab: LabContext) throws -> ExperimentResult {
        let model = try lab.model(lab.basePrecision)
        let c = model.config
        guard (0..<c.numHiddenLayers).contains(layer) else {
            throw ExperimentParameterError.invalid("layer", reason: "the model has layers 0…\(c.numHiddenLayers - 1)")
        }
        let recorder = RoutingRecorder(layers: c.numHiddenLayers)
        let promptIDs = lab.tokenizer.encode(prompt, addBOS: true)
        let session = Session(model: model, capacity: promptIDs.count + maxTokens + 1, observer: recorder)
        var generator = Generator(model: model, stopToken: -1)
        let generated = maxTokens > 0 ? try generator.generate(prompt: promptIDs, maxTokens: maxTokens, session: session) : []
        if maxTokens == 0 { _ = try model.forward(promptIDs, session: session) }
        // The last generated token was sampled but not run: only tokens that went through the model count.
        let ids = promptIDs + generated.dropLast()
        let decisions = recorder.byLayer
        let n = decisions[layer].count
        let k = c.numExpertsPerToken, e = c.numExperts

        // One token in detail.
        let index = token < 0 ? min(promptIDs.count - 1, n - 1) : min(token, n - 1)
        let decision = decisions[layer][index]
        let probabilities = softmaxDouble(decision.routerLogits)
        var tokenTable = MarkdownTable(["expert", "router logit", "softmax", "chosen", "weight after renormalising"])
        for expert in 0..<e {
            let slot = decision.experts.firstIndex(of: expert)
            tokenTable.rows.append(["\(expert)", String(format: "%+.3f", decision.routerLogits[expert]),
                                    String(format: "%.3f", probabilities[expert]), slot.map { "top-\($0 + 1)" } ?? "",
                                    slot.map { String(format: "%.3f", decision.weights[$0]) } ?? ""])
        }

        // Load balance and reuse per layer.
        var usageTable = MarkdownTable(["layer", "share of each expert (0…\(e - 1))", "entropy (bits, max \(String(format: "%.2f", log2(Double(e)))))", "tokens reusing an expert of the previous token"])
        var entropies: [Double] = [], reuses: [Double] = []
        var topExpert = 0, topShare = 0.0
        for (l, layerDecisions) in decisions.enumerated() {
            var counts = [Double](repeating: 0, count: e)
            for d in layerDecisions { for x in d.experts { counts[x] += 1 } }
            let total = counts.reduce(0, +)
            let shares = counts.map { $0 / max(total, 1) }
            let entropy = -shares.filter { $0 > 0 }.reduce(0) { $0 + $1 * log2($1) }
            var reused = 0
            for t in 1..<max(layerDecisions.count, 1) where !Set(layerDecisions[t].experts).isDisjoint(with: layerDecisions[t - 1].experts) {
                reused += 1
            }
            let reuse = Double(reused) / Double(max(layerDecisions.count - 1, 1))
            entropies.append(entropy)
            reuses.append(reuse)
            if l == layer, let best = shares.indices.max(by: { shares[$0] < shares[$1] }) { topExpert = best; topShare = shares[best] }
            usageTable.rows.append(["\(l)", shares.map { String(format: "%.2f", $0) }.joined(separator: " "),
                                    String(format: "%.2f", entropy), String(format: "%.1f %%", reuse * 100)])
        }
        // With uniform random top-k routing, the chance that two tokens share no expert is C(e−k, k)/C(e, k).
        let uniformReuse = 1 - binomial(e - k, k) / binomial(e, k)

        let shown = min(n, 48)
        let tokens = ids.prefix(shown).map { displayPiece($0, lab.tokenizer) }
        var cells = [[Double]](repeating: [Double](repeating: .nan, count: shown), count: e)
        for t in 0..<shown {
            for (slot, expert) in decisions[layer][t].experts.enumerated() { cells[expert][t] = Double(decisions[layer][t].weights[slot]) }
        }
        let heatmap = RoutingHeatmap(
            metadata: lab.metadata(title: "Which experts layer \(layer) chooses for each token",
                                   description: "Router weight (after top-\(k) and renormalising) of every chosen expert for the first \(shown) tokens; empty cells were not chosen.",
                                   precision: lab.basePrecision.description),
            rowLabels: (0..<e).map { "expert \($0)" }, tokens: tokens,
            cells: .continuous(values: cells, label: "router weight after top-\(k) (0–1)", range: 0...1),
            rowAxisLabel: "expert (layer \(layer))", columnAxisLabel: "token (prompt, then generated), in order")
        let values: [String: Any] = [
            "token_text": RoutingHeatmap.displayText(ofToken: displayPiece(ids[index], lab.tokenizer)),
            "token_table": tokenTable.description, "layer": layer, "usage_table": usageTable.description,
            "reuse": reuses.reduce(0, +) / Double(reuses.count), "uniform_reuse": uniformReuse,
            "reuse_min": reuses.min() ?? 0, "reuse_max": reuses.max() ?? 0,
            "max_entropy": log2(Double(e)), "entropy_min": entropies.min() ?? 0, "entropy_max": entropies.max() ?? 0,
            "top_expert": topExpert, "top_share": topShare, "tokens": n, "experts": e, "k": k,
        ]
        return ExperimentResult(values: values, charts: [
            try lab.write(heatmap, file: "routing-heatmap.png", caption: "Routing of layer \(layer), token by token"),
        ])
    }
}

/// A token's vocabulary piece for display, with byte-fallback pieces (`<0x0A>`) shown as the character
/// they encode when it is a whole character.
func displayPiece(_ id: Int, _ tokenizer: Tokenizer) -> String {
    let piece = tokenizer.tokenString(id)
    guard piece.hasPrefix("<0x"), piece.hasSuffix(">") else { return piece }
    let text = tokenizer.decode([id])
    return text.contains("\u{FFFD}") ? piece : text
}

/// Keeps every routing decision, per layer, in token order.
final class RoutingRecorder: ForwardObserver {
    var byLayer: [[RoutingDecision]]
    init(layers: Int) { byLayer = Array(repeating: [], count: layers) }
    func routed(_ decision: RoutingDecision) { byLayer[decision.layer].append(decision) }
}

func softmaxDouble(_ logits: [Float]) -> [Double] {
    let m = Double(logits.max() ?? 0)
    let e = logits.map { exp(Double($0) - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}

/// n choose k as a Double.
func binomial(_ n: Int, _ k: Int) -> Double {
    guard k >= 0 && k <= n else { return 0 }
    return (0..<k).reduce(1.0) { $0 * Double(n - $1) / Double($1 + 1) }
}
