import Foundation
import Engine
import Offloading
import Charts

/// Lesson 7's experiment: speculative prefetching. How often layer L+d's router, applied to the hidden
/// state entering layer L's MoE block, names the experts layer L+d will really choose (recall), and how
/// much stall time prefetching those guesses saves on a chosen machine (Eliseev & Mazur 2023, §3.2).
struct PrefetchRecallExperiment: Experiment {
    static let name = "prefetch-recall"
    static let summary = "Recall of next-layer expert guesses by lookahead, and stall time saved by lru+prefetch against plain LRU."
    static let parameters = [
        ParameterSpec("prompt", .text, "text to continue", default: "ROMEO:\n"),
        ParameterSpec("max_tokens", .int, "tokens to generate", default: 96),
        ParameterSpec("lookaheads", .list, "layers ahead to guess", default: [1, 2, 3]),
        ParameterSpec("prefetch", .int, "experts prefetched per guess (top-m)", default: 2),
        ParameterSpec("lookahead", .int, "layers ahead the simulated lru+prefetch guesses", default: 1),
        ParameterSpec("cache_experts", .int, "cache size (experts per layer)", default: 4),
        ParameterSpec("hardware", .text, "hardware profile for the simulated clock", default: "colab-t4"),
    ]
    /// `d1`, `d2`, … (recall, top1_recall, pairs); `lru` and `prefetch` (stall_ms, tokens_per_s, hit_rate, wasted).
    static let resultKeys = ["table", "lru", "prefetch", "random_recall", "saved_stall_ms", "saved_fraction", "speedup", "effect",
                             "transfer_us", "layer_us", "lookahead", "ahead", "hidden_behind", "misses_effect",
                             "hardware", "cache_experts", "m", "k", "tokens", "*"]

    let prompt: String
    let maxTokens: Int
    let lookaheads: [Int]
    let prefetch: Int
    /// Layers ahead of the simulated lru+prefetch run.
    let lookahead: Int
    let cacheExperts: Int
    let hardware: HardwareProfile

    init(_ parameters: ExperimentParameters) throws {
        prompt = parameters.text("prompt")
        maxTokens = parameters.int("max_tokens")
        lookaheads = try parameters.list("lookaheads").map { text in
            guard let d = Int(text), d >= 1 else { throw ExperimentParameterError.invalid("lookaheads", reason: "\(text) is not a positive integer") }
            return d
        }
        prefetch = parameters.int("prefetch")
        lookahead = parameters.int("lookahead")
        guard prefetch >= 1 else { throw ExperimentParameterError.invalid("prefetch", reason: "must be at least 1") }
        guard lookahead >= 1 else { throw ExperimentParameterError.invalid("lookahead", reason: "must be at least 1") }
        cacheExperts = parameters.int("cache_experts")
        hardware = try parameters.hardware("hardware")
    }

    func run(in lab: LabContext) throws -> ExperimentResult {
        let model = try lab.model(lab.basePrecision)
        let c = model.config
        guard lookahead < c.numHiddenLayers else {
            throw ExperimentParameterError.invalid("lookahead", reason: "\(lookahead) layers ahead, but the model has \(c.numHiddenLayers) layers; give 1…\(c.numHiddenLayers - 1)")
        }
        let maxLookahead = min(max(lookaheads.max() ?? 1, lookahead), c.numHiddenLayers - 1)
        let ids = lab.tokenizer.encode(prompt, addBOS: true)
        lab.progress("recording routing with \(maxLookahead)-layer lookahead")
        let run = try RecordedRun.record(model: model, prompt: ids, maxTokens: maxTokens, lookahead: maxLookahead)
        let k = c.numExpertsPerToken
        let m = min(prefetch, c.numExperts)

        // Recall: of the k experts layer L+d chose, how many were among the top-m guessed at layer L.
        let ahead = lookahead == 1 ? "one layer ahead" : "\(lookahead) layers ahead"
        var values: [String: Any] = ["hardware": hardware.name, "cache_experts": cacheExperts, "m": m, "k": k,
                                     "lookahead": lookahead, "ahead": ahead,
                                     "hidden_behind": lookahead == 1 ? "that layer's compute" : "the compute of those \(lookahead) layers",
                                     "tokens": run.forwards.count, "random_recall": Double(m) / Double(c.numExperts)]
        var table = MarkdownTable(["lookahead (layers)", "guessed / chosen pairs", "recall of the k chosen", "top-1 expert guessed"])
        var recalls: [Double] = []
        for d in lookaheads where d <= maxLookahead {
            var found = 0, total = 0, top1 = 0, pairs = 0
            for forward in run.forwards where forward.phase == .decode {
                for step in forward.steps where step.layer + d < c.numHiddenLayers {
                    let actual = forward.steps[step.layer + d].tokens[0].experts
                    let guessLogits = step.tokens[0].lookaheadLogits[d - 1]
                    let guess = Set(routeTopK(logits: guessLogits, k: m).experts)
                    found += actual.filter { guess.contains($0) }.count
                    total += actual.count
                    if guess.contains(actual[0]) { top1 += 1 }
                    pairs += 1
                }
            }
            let recall = Double(found) / Double(max(total, 1))
            recalls.append(recall)
            values["d\(d)"] = ["recall": recall, "top1_recall": Double(top1) / Double(max(pairs, 1)), "pairs": pairs]
            table.rows.append(["\(d)", "\(pairs)", String(format: "%.1f %%", recall * 100), String(format: "%.1f %%", Double(top1) / Double(max(pairs, 1)) * 100)])
        }
        values["table"] = table.description

        // Stall time: plain LRU against LRU with prefetch of the top-m guesses `lookahead` layers ahead.
        let cost = CostModel(hardware: hardware, footprint: ModelFootprint(model: model))
        let lru = try run.simulate(policy: .lru, cacheExperts: cacheExperts, cost: cost)
        let prefetching = try run.simulate(policy: .lruPrefetch(PrefetchSettings(experts: m, lookahead: lookahead)), cacheExperts: cacheExperts, cost: cost)
        func summary(_ s: OffloadingSummary) -> [String: Any] {
            ["stall_ms": s.decodeStallUs / 1000, "tokens_per_s": s.tokensPerSecondEst, "hit_rate": s.decodeHitRate, "misses": s.decodeMisses,
             "prefetched": s.prefetched, "prefetch_hits": s.prefetchHits, "wasted": s.prefetchWasted,
             "cancelled": s.prefetchCancelled, "bytes": s.bytesTransferred]
        }
        values["lru"] = summary(lru)
        values["prefetch"] = summary(prefetching)
        let fewer = lru.decodeMisses - prefetching.decodeMisses
        values["misses_effect"] = fewer > 0
            ? "good guesses turned \(counted(fewer, "miss", plural: "misses")) into hits"
            : "no fewer, because the wasted guesses took cache slots from experts that were needed later"
        values["saved_stall_ms"] = (lru.decodeStallUs - prefetching.decodeStallUs) / 1000
        values["saved_fraction"] = lru.decodeStallUs > 0 ? (lru.decodeStallUs - prefetching.decodeStallUs) / lru.decodeStallUs : 0.0
        values["speedup"] = lru.tokensPerSecondEst > 0 ? prefetching.tokensPerSecondEst / lru.tokensPerSecondEst : 1.0
        let change = lru.decodeStallUs > 0 ? (prefetching.decodeStallUs - lru.decodeStallUs) / lru.decodeStallUs : 0
        values["effect"] = change <= 0 ? String(format: "cut the stall time by %.0f %%", -change * 100)
                                       : String(format: "made the stall time %.0f %% longer", change * 100)
        // What one layer can hide: a transfer started a layer early overlaps at most that layer's compute.
        values["transfer_us"] = cost.transferUs(bytes: model.layers[0].expertBytes[0])
        values["layer_us"] = cost.attentionUs(layer: 0, tokens: 1) + cost.expertsUs(layer: 0, experts: Array(0..<k), rows: k)

        let shown = lookaheads.filter { $0 <= maxLookahead }
        let chart = GroupedBarChart(
            metadata: lab.metadata(title: "How well the next layers' experts can be guessed early",
                                   description: "Recall of the experts layer L+d chose among the top-\(m) guessed by applying layer L+d's router to layer L's hidden state, decode steps only."),
            categories: shown.map { $0 == 1 ? "1 layer ahead" : "\($0) layers ahead" },
            series: [BarSeries(name: "top-\(m) of layer L+d's router on layer L's hidden state", values: recalls),
                     BarSeries(name: "random guess of \(counted(m, "expert"))", values: shown.map { _ in Double(m) / Double(c.numExperts) })],
            xLabel: "lookahead d", yLabel: "recall (share of the chosen experts that were guessed)")
        let stalls = GroupedBarChart(
            metadata: lab.metadata(title: "Stall time with and without prefetch on \(hardware.name), \(counted(cacheExperts, "expert")) per layer cached",
                                   description: "Simulated time decode steps wait for missing experts, cache of \(cacheExperts) experts per layer."),
            categories: ["lru", "lru+prefetch (top-\(m), \(ahead))"],
            series: [BarSeries(name: "stall per run (ms)", values: [lru.decodeStallUs / 1000, prefetching.decodeStallUs / 1000])],
            xLabel: "policy", yLabel: "total stall time of the decode steps (ms)")
        return ExperimentResult(values: values, charts: [
            try lab.write(chart, file: "prefetch-recall.png", caption: "Recall of speculative expert guesses by lookahead"),
            try lab.write(stalls, file: "prefetch-stalls.png", caption: "Stall time with and without prefetch"),
        ])
    }
}
