import Foundation
import Tensors
import Engine
import Charts
import Checkpoints

/// Lesson 5's experiment: what the router does. Router logits, softmax, top-k and renormalised weights for
/// one token; a heatmap of one layer's routing over a text; how evenly each layer uses its experts; how
/// often a token reuses an expert of the token before it (what an expert cache relies on), against the reuse
/// the layer's expert frequencies alone give (the same expert sets in 1,000 random orders).
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
                             "shuffled_reuse", "reuse_verdict", "sticky_layers", "experts_for_90_min", "experts_for_90_max", "experts_for_90_even",
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
        let recorder = RoutingLog(layers: c.numHiddenLayers)
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

        // Load balance and reuse per layer, each reuse beside the reuse that the layer's expert frequencies
        // alone would give: the same tokens' expert sets in a random order (a permutation baseline).
        var usageTable = MarkdownTable(["layer", "share of each expert (0…\(e - 1))", "experts taking 90 % of the slots",
                                        "reusing an expert of the previous token", "same frequencies, random order: mean [95 % of shuffles]",
                                        "uniform random routing"])
        let uniformReuse = 1 - binomial(e - k, k) / binomial(e, k)
        var entropies: [Double] = [], reuses: [Double] = [], shuffledMeans: [Double] = [], expertsFor90: [Int] = []
        var sticky: [Int] = [], explained: [Int] = [], lessThanFrequency: [Int] = []
        var topExpert = 0, topShare = 0.0
        var shuffler = SplitMix64(seed: 0x5EED_0005)
        for (l, layerDecisions) in decisions.enumerated() {
            var counts = [Double](repeating: 0, count: e)
            for d in layerDecisions { for x in d.experts { counts[x] += 1 } }
            let total = counts.reduce(0, +)
            let shares = counts.map { $0 / max(total, 1) }
            let entropy = -shares.filter { $0 > 0 }.reduce(0) { $0 + $1 * log2($1) }
            let sortedShares = shares.sorted(by: >)
            var covered = 0.0, needed = 0
            for share in sortedShares where covered < 0.9 - 1e-9 { covered += share; needed += 1 }
            let sets = layerDecisions.map { Set($0.experts) }
            let reuse = adjacentReuse(sets)
            // Permutation baseline: 1,000 shuffles of the token order keep every expert's frequency.
            var shuffled = sets
            var samples: [Double] = []
            for _ in 0..<1000 {
                shuffled.shuffle(using: &shuffler)
                samples.append(adjacentReuse(shuffled))
            }
            samples.sort()
            let band = Interval(low: samples[25], high: samples[974])
            let shuffledMean = samples.reduce(0, +) / Double(samples.count)
            if reuse > band.high { sticky.append(l) } else if reuse < band.low { lessThanFrequency.append(l) } else { explained.append(l) }
            entropies.append(entropy)
            reuses.append(reuse)
            shuffledMeans.append(shuffledMean)
            expertsFor90.append(needed)
            if l == layer, let best = shares.indices.max(by: { shares[$0] < shares[$1] }) { topExpert = best; topShare = shares[best] }
            usageTable.rows.append(["\(l)", shares.map { String(format: "%.2f", $0) }.joined(separator: " "), "\(needed) of \(e)",
                                    String(format: "%.1f %%", reuse * 100),
                                    String(format: "%.1f %% [%.1f, %.1f]", shuffledMean * 100, band.low * 100, band.high * 100),
                                    String(format: "%.1f %%", uniformReuse * 100)])
        }
        func layers(_ list: [Int]) -> String {
            list.isEmpty ? "none" : (list.count == 1 ? "layer " : "layers ") + list.map(String.init).joined(separator: ", ")
        }
        var verdict = "Stickier than their own frequencies explain: \(layers(sticky)). Explained by frequency alone (inside the shuffles' 95 % range): \(layers(explained))."
        if !lessThanFrequency.isEmpty { verdict += " Less reuse than a shuffled order gives: \(layers(lessThanFrequency))." }

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
            "shuffled_reuse": shuffledMeans.reduce(0, +) / Double(shuffledMeans.count), "reuse_verdict": verdict,
            "sticky_layers": layers(sticky), "experts_for_90_min": expertsFor90.min() ?? 0, "experts_for_90_max": expertsFor90.max() ?? 0,
            // With even use every expert holds 1/e of the slots: ⌈0.9·e⌉ experts take 90 %.
            "experts_for_90_even": Int((0.9 * Double(e)).rounded(.up)),
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
final class RoutingLog: ForwardObserver {
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

/// Share of tokens (after the first) whose expert set shares an expert with the previous token's.
func adjacentReuse(_ sets: [Set<Int>]) -> Double {
    guard sets.count >= 2 else { return 0 }
    let reused = (1..<sets.count).filter { !sets[$0].isDisjoint(with: sets[$0 - 1]) }.count
    return Double(reused) / Double(sets.count - 1)
}

/// n choose k as a Double.
func binomial(_ n: Int, _ k: Int) -> Double {
    guard k >= 0 && k <= n else { return 0 }
    return (0..<k).reduce(1.0) { $0 * Double(n - $1) / Double($1 + 1) }
}
