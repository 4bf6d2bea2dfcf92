import Foundation
import Tensors
import Engine
import Charts
import Checkpoints
import UserInput

/// What the router does (lesson 5, `mixtral-lab chart routing`): router logits, softmax, top-k and
/// renormalised weights for one token; a heatmap of one layer's routing over a text; how evenly each layer
/// uses its experts; how often a token reuses an expert of the token before it (what an expert cache relies
/// on), against the reuse the layer's expert frequencies alone give (the same expert sets in 1,000 random orders).
public struct RoutingReport: Codable {
    /// The token shown in `tokenTable`, as the heatmap labels it.
    public let tokenText: String
    /// Markdown: every expert's router logit, softmax and top-k weight for that token.
    public let tokenTable: String
    public let layer: Int
    /// Markdown: per layer, expert shares, experts taking 90 %, reuse against shuffled and uniform routing.
    public let usageTable: String
    /// Mean over layers of the share of tokens reusing an expert of the previous token; the same for uniform
    /// random routing and for the shuffled orders; its smallest and largest layer.
    public let reuse: Double
    public let uniformReuse: Double
    public let shuffledReuse: Double
    public let reuseMin: Double
    public let reuseMax: Double
    public let reuseVerdict: String
    public let stickyLayers: String
    /// Fewest experts taking 90 % of a layer's slots (smallest and largest layer; even use).
    public let expertsFor90Min: Int
    public let expertsFor90Max: Int
    public let expertsFor90Even: Int
    /// Entropy of the expert shares in bits: smallest and largest layer, and log2(experts).
    public let entropyMin: Double
    public let entropyMax: Double
    public let maxEntropy: Double
    /// The most used expert of `layer` and its share of the slots.
    public let topExpert: Int
    public let topShare: Double
    /// Routed tokens, experts per layer, experts per token.
    public let tokens: Int
    public let experts: Int
    public let k: Int
    public let chartRoutingHeatmap: ChartFile

    enum CodingKeys: String, CodingKey {
        case tokenText = "token_text", tokenTable = "token_table", layer, usageTable = "usage_table", reuse,
             uniformReuse = "uniform_reuse", shuffledReuse = "shuffled_reuse", reuseMin = "reuse_min", reuseMax = "reuse_max",
             reuseVerdict = "reuse_verdict", stickyLayers = "sticky_layers", expertsFor90Min = "experts_for_90_min",
             expertsFor90Max = "experts_for_90_max", expertsFor90Even = "experts_for_90_even", entropyMin = "entropy_min",
             entropyMax = "entropy_max", maxEntropy = "max_entropy", topExpert = "top_expert", topShare = "top_share",
             tokens, experts, k, chartRoutingHeatmap = "chart_routing_heatmap"
    }

    /// Routes `prompt` and `maxTokens` greedy tokens through the lab's model at its base precision and writes
    /// `routing-heatmap.png` of `layer`; `token` is the index shown in the one-token table (−1 = last of the prompt).
    /// - Throws: `RoutingReport.Error.noSuchLayer` for a layer the model lacks; what the model and chart writer throw.
    public init(prompt: String, layer: Int, token: Int, maxTokens: Int, in lab: LabContext) throws {
        let model = try lab.model(lab.basePrecision)
        let c = model.config
        guard (0..<c.numHiddenLayers).contains(layer) else {
            throw Error.noSuchLayer(layer, layers: c.numHiddenLayers)
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
        var sticky: [Int] = [], explained: [Int] = [], lessThanFrequency: [Int] = [], edges: [String] = []
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
            // inside, but at an end as the table prints it (one decimal of a percent): say so
            if band.contains(reuse), min(abs(reuse - band.high), abs(reuse - band.low)) < 0.0005 {
                edges.append(String(format: "layer %d's %.1f %% against [%.1f, %.1f]", l, reuse * 100, band.low * 100, band.high * 100))
            }
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
        if !edges.isEmpty { verdict += " At an end of that range, so only just inside it: \(edges.joined(separator: "; "))." }

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
            rowAxisLabel: "expert (layer \(layer))",
            columnAxisLabel: shown > promptIDs.count ? "token in order: the prompt left of the black line, generated tokens right of it"
                                                     : "prompt token (in order)",
            promptTokens: promptIDs.count)
        tokenText = RoutingHeatmap.displayText(ofToken: displayPiece(ids[index], lab.tokenizer))
        self.tokenTable = tokenTable.description
        self.layer = layer
        self.usageTable = usageTable.description
        reuse = reuses.reduce(0, +) / Double(reuses.count)
        self.uniformReuse = uniformReuse
        shuffledReuse = shuffledMeans.reduce(0, +) / Double(shuffledMeans.count)
        reuseVerdict = verdict
        stickyLayers = layers(sticky)
        expertsFor90Min = expertsFor90.min() ?? 0
        expertsFor90Max = expertsFor90.max() ?? 0
        // With even use every expert holds 1/e of the slots: ⌈0.9·e⌉ experts take 90 %.
        expertsFor90Even = Int((0.9 * Double(e)).rounded(.up))
        reuseMin = reuses.min() ?? 0
        reuseMax = reuses.max() ?? 0
        maxEntropy = log2(Double(e))
        entropyMin = entropies.min() ?? 0
        entropyMax = entropies.max() ?? 0
        self.topExpert = topExpert
        self.topShare = topShare
        self.tokens = n
        experts = e
        self.k = k
        chartRoutingHeatmap = try lab.write(heatmap, file: "routing-heatmap.png", caption: "Routing of layer \(layer), token by token")
    }

    /// A routing request the model cannot answer.
    public enum Error: UserInputError {
        case noSuchLayer(Int, layers: Int)

        public var description: String {
            switch self {
            case .noSuchLayer(_, let layers): return "the model has layers 0…\(layers - 1)"
            }
        }
    }
}

/// A token's vocabulary piece for display, with byte-fallback pieces (`<0x0A>`) shown as the character
/// they encode when it is a whole character.
public func displayPiece(_ id: Int, _ tokenizer: Tokenizer) -> String {
    let piece = tokenizer.tokenString(id)
    guard piece.hasPrefix("<0x"), piece.hasSuffix(">") else { return piece }
    let text = tokenizer.decode([id])
    return text.contains("\u{FFFD}") ? piece : text
}

/// Keeps every routing decision, per layer, in token order.
public final class RoutingLog: ForwardObserver {
    public var byLayer: [[RoutingDecision]]
    public init(layers: Int) { byLayer = Array(repeating: [], count: layers) }
    public func routed(_ decision: RoutingDecision) { byLayer[decision.layer].append(decision) }
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
