import Foundation
import Engine
import Offloading
import Charts
import Reports

/// Lesson 7's experiment: speculative prefetching. How often layer L+d's router, applied to the hidden
/// state entering layer L's MoE block, names the experts layer L+d will really choose (recall), and how
/// much stall time prefetching those guesses saves on a chosen machine (Eliseev & Mazur 2023, §3.2) — each
/// against a frequency guess (the m experts layer L+d used most so far) and over several prompts.
struct PrefetchRecallExperiment: Experiment {
    static let name = "prefetch-recall"
    static let summary = "Recall of next-layer expert guesses by lookahead, and stall time saved by lru+prefetch against plain LRU."
    static let modelUse: ModelUse = [.loadsModel, .runPrecision]
    static let parameters = [
        ParameterSpec("prompt", .text, "text to continue", default: "ROMEO:\n"),
        ParameterSpec("prompts", .list, "more prompts: recall and stalls are also given as mean and range over all prompts",
                      default: ["JULIET:\n", "First Citizen:\n", "KING RICHARD III:\n", "HAMLET:\nTo be, or not to be", "MERCUTIO:\n"]),
        ParameterSpec("max_tokens", .int, "tokens to generate", default: 96),
        ParameterSpec("lookaheads", .list, "layers ahead to guess", default: [1, 2, 3]),
        ParameterSpec("prefetch", .int, "experts prefetched per guess (top-m)", default: 2),
        ParameterSpec("lookahead", .int, "layers ahead the simulated lru+prefetch guesses", default: 1),
        ParameterSpec("cache_experts", .int, "cache size (experts per layer)", default: 4),
        ParameterSpec("hardware", .text, "hardware profile for the simulated clock", default: "colab-t4"),
    ]
    static func variableKeys(_ parameters: ExperimentParameters) throws -> [String: [String]] {
        // A lookahead beyond the model's last layer is left out when the lesson runs.
        ["lookaheads": try Self(parameters).lookaheads.map { "d\($0)" }]
    }

    struct Result: Codable {
        /// Guessing `d` layers ahead, over all prompts: the router's recall (mean, lowest and highest prompt),
        /// the frequency guess's, how often the router's guess held the top-1 expert, guessed/chosen pairs.
        struct Lookahead: Codable {
            let recall: Spread
            let frequency: Spread
            let top1Recall: Double
            let pairs: Int

            enum CodingKeys: String, CodingKey { case recall, frequency, top1Recall = "top1_recall", pairs }
        }

        /// One simulated policy's decode steps on the `prompt` run.
        struct Run: Codable {
            let stallMs: Double
            let tokensPerS: Double
            let hitRate: Double
            let misses: Int
            let prefetched: Int
            let prefetchHits: Int
            let wasted: Int
            let cancelled: Int
            let bytes: Int

            init(_ s: OffloadingSummary) {
                stallMs = s.decodeStallUs / 1000
                tokensPerS = s.tokensPerSecondEst
                hitRate = s.decodeHitRate
                misses = s.decodeMisses
                prefetched = s.prefetched
                prefetchHits = s.prefetchHits
                wasted = s.prefetchWasted
                cancelled = s.prefetchCancelled
                bytes = s.bytesTransferred
            }

            enum CodingKeys: String, CodingKey {
                case stallMs = "stall_ms", tokensPerS = "tokens_per_s", hitRate = "hit_rate", misses, prefetched,
                     prefetchHits = "prefetch_hits", wasted, cancelled, bytes
            }
        }

        let hardware: String
        let cacheExperts: Int
        /// Experts prefetched per guess (top-m), experts per token.
        let m: Int
        let k: Int
        let lookahead: Int
        /// The lookahead and what a prefetch hides behind, in words.
        let ahead: String
        let hiddenBehind: String
        let promptCount: Int
        let tokens: Int
        /// m ÷ experts: a random guess's recall.
        let randomRecall: Double
        let skew: String
        let skewEven: Int
        let lastLayer: Int
        /// Per lookahead: `d1`, `d2`, …
        let lookaheads: [String: Lookahead]
        /// Markdown: recall per lookahead.
        let table: String
        let frequencyVerdict: String
        /// Plain LRU and LRU with prefetch.
        let lru: Run
        let prefetch: Run
        /// Share of prefetches used.
        let usedFraction: Double
        let stallVerdict: String
        let missesEffect: String
        let savedStallMs: Double
        let savedFraction: Double
        let speedup: Double
        /// `speedup` beside the paper's full algorithm ÷ without pre-loading, in words.
        let paperSpeedup: String
        let effect: String
        /// One expert's transfer and one layer's compute, µs, and their ratio.
        let transferUs: Double
        let layerUs: Double
        let copyOverCompute: Double
        let chartPrefetchRecall: ChartFile
        let chartPrefetchStalls: ChartFile

        enum CodingKeys: String, CodingKey {
            case hardware, cacheExperts = "cache_experts", m, k, lookahead, ahead, hiddenBehind = "hidden_behind",
                 promptCount = "prompt_count", tokens, randomRecall = "random_recall", skew, skewEven = "skew_even",
                 lastLayer = "last_layer", lookaheads, table, frequencyVerdict = "frequency_verdict", lru, prefetch,
                 usedFraction = "used_fraction", stallVerdict = "stall_verdict", missesEffect = "misses_effect",
                 savedStallMs = "saved_stall_ms", savedFraction = "saved_fraction", speedup, paperSpeedup = "paper_speedup", effect, transferUs = "transfer_us",
                 layerUs = "layer_us", copyOverCompute = "copy_over_compute", chartPrefetchRecall = "chart_prefetch_recall",
                 chartPrefetchStalls = "chart_prefetch_stalls"
        }
    }

    let prompt: String
    let prompts: [String]
    let maxTokens: Int
    let lookaheads: [Int]
    let prefetch: Int
    /// Layers ahead of the simulated lru+prefetch run.
    let lookahead: Int
    let cacheExperts: Int
    let hardware: HardwareProfile

    init(_ parameters: ExperimentParameters) throws {
        prompt = parameters.text("prompt")
        prompts = parameters.list("prompts")
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

    func run(in lab: LabContext) throws -> Result {
        let model = try lab.model(lab.basePrecision)
        let c = model.config
        guard lookahead < c.numHiddenLayers else {
            throw ExperimentParameterError.invalid("lookahead", reason: "\(lookahead) layers ahead, but the model has \(c.numHiddenLayers) layers; give 1…\(c.numHiddenLayers - 1)")
        }
        let maxLookahead = min(max(lookaheads.max() ?? 1, lookahead), c.numHiddenLayers - 1)
        let ids = lab.tokenizer.encode(prompt, addBOS: true)
        lab.progress("recording routing with \(maxLookahead)-layer lookahead on \(counted(prompts.count + 1, "prompt"))")
        let run = try RecordedRun.record(model: model, prompt: ids, maxTokens: maxTokens, lookahead: maxLookahead)
        let runs = [run] + (try prompts.map {
            try RecordedRun.record(model: model, prompt: lab.tokenizer.encode($0, addBOS: true), maxTokens: maxTokens, lookahead: maxLookahead)
        })
        let k = c.numExpertsPerToken
        let m = min(prefetch, c.numExperts)

        // Recall: of the k experts layer L+d chose, how many were among the top-m guessed at layer L. The
        // honest baseline guesses layer L+d's m most used experts so far in the run (prompt and earlier
        // steps): a frequency guess that needs no router at all.
        let ahead = lookahead == 1 ? "one layer ahead" : "\(lookahead) layers ahead"
        var byLookahead: [String: Result.Lookahead] = [:]
        var table = MarkdownTable(["lookahead (layers)", "guessed / chosen pairs", "router guess: recall, mean (range over prompts)",
                                   "frequency guess: recall, mean (range)", "random guess", "top-1 expert guessed by the router"])
        var recalls: [Double] = [], frequencyRecalls: [Double] = []
        var verdicts: [String] = []
        for d in lookaheads where d <= maxLookahead {
            let perRun = runs.map { guessRecall($0, d: d, m: m, layers: c.numHiddenLayers, experts: c.numExperts) }
            let router = perRun.map(\.router), frequency = perRun.map(\.frequency)
            let recall = Spread(router), frequencyRecall = Spread(frequency)
            let top1 = mean(perRun.map(\.top1)), pairs = perRun.map(\.pairs).reduce(0, +)
            recalls.append(recall.mean)
            frequencyRecalls.append(frequencyRecall.mean)
            let differences = zip(router, frequency).map { $0 - $1 }
            let wins = differences.filter { $0 > 0 }.count
            let verdict = wins == differences.count ? "the router's guess beats the frequency guess on all \(runs.count) prompts"
                : (wins == 0 ? "the frequency guess is as good or better on all \(runs.count) prompts"
                             : "the router's guess beats the frequency guess on \(wins) of \(runs.count) prompts only")
            verdicts.append("\(d == 1 ? "one layer ahead" : "\(d) layers ahead"), \(verdict)")
            byLookahead["d\(d)"] = Result.Lookahead(recall: recall, frequency: frequencyRecall, top1Recall: top1, pairs: pairs)
            table.rows.append(["\(d)", "\(pairs)", recall.percentText, frequencyRecall.percentText,
                               String(format: "%.1f %%", Double(m) / Double(c.numExperts) * 100), String(format: "%.1f %%", top1 * 100)])
        }

        // Stall time: plain LRU against LRU with prefetch of the top-m guesses `lookahead` layers ahead.
        let cost = CostModel(hardware: hardware, footprint: ModelFootprint(model: model))
        let lru = try run.simulate(policy: .lru, cacheExperts: cacheExperts, cost: cost)
        let prefetching = try run.simulate(policy: .lruPrefetch(PrefetchSettings(experts: m, lookahead: lookahead)), cacheExperts: cacheExperts, cost: cost)
        let usedFraction = prefetching.prefetched > 0 ? Double(prefetching.prefetchHits) / Double(prefetching.prefetched) : 0.0
        var ratios: [Double] = []
        for other in runs.dropFirst() {
            let plain = try other.simulate(policy: .lru, cacheExperts: cacheExperts, cost: cost)
            let guessed = try other.simulate(policy: .lruPrefetch(PrefetchSettings(experts: m, lookahead: lookahead)), cacheExperts: cacheExperts, cost: cost)
            if plain.tokensPerSecondEst > 0 { ratios.append(guessed.tokensPerSecondEst / plain.tokensPerSecondEst) }
        }
        if lru.tokensPerSecondEst > 0 { ratios.insert(prefetching.tokensPerSecondEst / lru.tokensPerSecondEst, at: 0) }
        let faster = ratios.filter { $0 > 1 }.count, ratio = Spread(ratios)
        let stallVerdict = String(format: "Over all %d prompts, lru+prefetch ran at %.2f× plain LRU's estimated speed on average (%.2f× to %.2f×) and was faster on %d of them",
                                         ratios.count, ratio.mean, ratio.min, ratio.max, faster)
        let fewer = lru.decodeMisses - prefetching.decodeMisses
        let missesEffect = fewer > 0
            ? "good guesses turned \(counted(fewer, "miss", plural: "misses")) into hits"
            : "no fewer, because the wasted guesses took cache slots from experts that were needed later"
        let savedFraction = lru.decodeStallUs > 0 ? (lru.decodeStallUs - prefetching.decodeStallUs) / lru.decodeStallUs : 0.0
        let speedup = lru.tokensPerSecondEst > 0 ? prefetching.tokensPerSecondEst / lru.tokensPerSecondEst : 1.0
        let change = lru.decodeStallUs > 0 ? (prefetching.decodeStallUs - lru.decodeStallUs) / lru.decodeStallUs : 0
        let effect = change <= 0 ? String(format: "cut the stall time by %.0f %%", -change * 100)
                                       : String(format: "made the stall time %.0f %% longer", change * 100)
        // What one layer can hide: a transfer started a layer early overlaps at most that layer's compute.
        let transferUs = cost.transferUs(bytes: model.layers[0].expertBytes[0])
        let layerUs = cost.attentionUs(layer: 0, tokens: 1) + cost.expertsUs(layer: 0, experts: Array(0..<k), rows: k)

        let shown = lookaheads.filter { $0 <= maxLookahead }
        let chart = GroupedBarChart(
            metadata: lab.metadata(title: "How well the next layers' experts can be guessed early",
                                   description: "Recall of the experts layer L+d chose among the top-\(m) guessed by applying layer L+d's router to layer L's hidden state, against guessing the most used experts so far and a random guess; decode steps, mean over \(runs.count) prompts."),
            categories: shown.map { $0 == 1 ? "1 layer ahead" : "\($0) layers ahead" },
            series: [BarSeries(name: "top-\(m) of layer L+d's router on layer L's hidden state", values: recalls),
                     BarSeries(name: "layer L+d's \(counted(m, "expert")) most used so far (frequency guess)", values: frequencyRecalls),
                     BarSeries(name: "random guess of \(counted(m, "expert"))", values: shown.map { _ in Double(m) / Double(c.numExperts) })],
            xLabel: "lookahead d", yLabel: "recall (share of the chosen experts that were guessed)")
        let stalls = GroupedBarChart(
            metadata: lab.metadata(title: "Stall time with and without prefetch on \(hardware.name), \(counted(cacheExperts, "expert")) per layer cached",
                                   description: "Simulated time decode steps wait for missing experts, cache of \(cacheExperts) experts per layer."),
            categories: ["lru", "lru+prefetch (top-\(m), \(ahead))"],
            series: [BarSeries(name: "stall per run (ms)", values: [lru.decodeStallUs / 1000, prefetching.decodeStallUs / 1000])],
            xLabel: "policy", yLabel: "total stall time of the decode steps (ms)")
        return Result(
            hardware: hardware.name, cacheExperts: cacheExperts, m: m, k: k, lookahead: lookahead, ahead: ahead,
            hiddenBehind: lookahead == 1 ? "that layer's compute" : "the compute of those \(lookahead) layers",
            promptCount: runs.count, tokens: run.forwards.count, randomRecall: Double(m) / Double(c.numExperts),
            skew: spelledList(expertsTaking(0.9, of: run, experts: c.numExperts)),
            skewEven: Int((0.9 * Double(c.numExperts)).rounded(.up)), lastLayer: c.numHiddenLayers - 1,
            lookaheads: byLookahead, table: table.description, frequencyVerdict: verdicts.joined(separator: "; "),
            lru: Result.Run(lru), prefetch: Result.Run(prefetching), usedFraction: usedFraction, stallVerdict: stallVerdict,
            missesEffect: missesEffect, savedStallMs: (lru.decodeStallUs - prefetching.decodeStallUs) / 1000,
            savedFraction: savedFraction, speedup: speedup,
            paperSpeedup: PaperFigures.compare(speedup, with: PaperFigures.gainRange(.full, over: .noPrefetch),
                                               what: "full algorithm ÷ without pre-loading"),
            effect: effect, transferUs: transferUs, layerUs: layerUs,
            copyOverCompute: transferUs / layerUs,
            chartPrefetchRecall: try lab.write(chart, file: "prefetch-recall.png", caption: "Recall of speculative expert guesses by lookahead"),
            chartPrefetchStalls: try lab.write(stalls, file: "prefetch-stalls.png", caption: "Stall time with and without prefetch"))
    }
}

/// Recall of the k experts layer L+d chose, over the decode steps of `run`: by the top-m of layer L+d's router
/// applied to layer L's hidden state; by the m experts layer L+d used most before this step (ties to the lower
/// index); and how often the router's guess holds the top-1 expert.
private func guessRecall(_ run: RecordedRun, d: Int, m: Int, layers: Int, experts: Int)
    -> (router: Double, frequency: Double, top1: Double, pairs: Int) {
    var counts = [[Int]](repeating: [Int](repeating: 0, count: experts), count: layers)
    var found = 0, foundByFrequency = 0, total = 0, top1 = 0, pairs = 0
    for forward in run.forwards {
        if forward.phase == .decode {
            for step in forward.steps where step.layer + d < layers {
                let actual = forward.steps[step.layer + d].tokens[0].experts
                let guess = Set(routeTopK(logits: step.tokens[0].lookaheadLogits[d - 1], k: m).experts)
                let used = counts[step.layer + d]
                let frequent = Set((0..<experts).sorted { (used[$0], -$0) > (used[$1], -$1) }.prefix(m))
                found += actual.filter { guess.contains($0) }.count
                foundByFrequency += actual.filter { frequent.contains($0) }.count
                total += actual.count
                if guess.contains(actual[0]) { top1 += 1 }
                pairs += 1
            }
        }
        for step in forward.steps { for token in step.tokens { for e in token.experts { counts[step.layer][e] += 1 } } }
    }
    let n = Double(max(total, 1))
    return (Double(found) / n, Double(foundByFrequency) / n, Double(top1) / Double(max(pairs, 1)), pairs)
}

private func mean(_ x: [Double]) -> Double { x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count) }
