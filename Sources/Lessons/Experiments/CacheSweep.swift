import Foundation
import Engine
import Offloading
import Tracing
import Charts
import Reports

/// Lesson 6's experiment: the model's real routing replayed through expert caches of every size and
/// policy (LRU, LFU, the offline optimum), and one policy's transfer timeline on a chosen machine.
struct CacheSweepExperiment: Experiment {
    static let name = "cache-sweep"
    static let summary = "Hit rate against cache size per policy on recorded routing, LRU against Belady's optimum, and a transfer timeline."
    static let modelUse: ModelUse = [.loadsModel, .runPrecision]
    static let parameters = [
        ParameterSpec("prompt", .text, "text to continue (the table of one run and the timeline)", default: "ROMEO:\n"),
        ParameterSpec("prompts", .list, "more prompts: every policy's hit rate is also given as mean and range over all prompts",
                      default: ["JULIET:\n", "First Citizen:\n", "KING RICHARD III:\n", "HAMLET:\nTo be, or not to be", "MERCUTIO:\n"]),
        ParameterSpec("max_tokens", .int, "tokens to generate (the routing that is replayed)", default: 96),
        ParameterSpec("policies", .list, "policies to sweep", default: ["lru", "lfu", "optimal"]),
        ParameterSpec("cache_experts", .int, "cache size of the timeline run (experts per layer)", default: 4),
        ParameterSpec("policy", .text, "policy of the timeline run (added to the sweep if absent)", default: "lru"),
        ParameterSpec("hardware", .text, "hardware profile for the simulated clock", default: "laptop-16gb-nvme"),
    ]
    static func variableKeys(_ parameters: ExperimentParameters) throws -> [String: [String]] {
        let policies = try Self(parameters).policies.map(key)
        return ["at_cache": policies, "at_k": policies, "spread_at_k": policies, "spread_at_cache": policies]
    }

    struct Result: Codable {
        /// One policy at one cache size on the `prompt` run.
        struct Figures: Codable {
            let hitRate: Double
            let decodeHitRate: Double
            let bytes: Int
            let tokensPerS: Double
            let misses: Int
            let stallMs: Double

            enum CodingKeys: String, CodingKey {
                case hitRate = "hit_rate", decodeHitRate = "decode_hit_rate", bytes, tokensPerS = "tokens_per_s", misses, stallMs = "stall_ms"
            }
        }

        /// The traced run of the timeline policy.
        struct Timeline: Codable {
            let stallMs: Double
            let tokensPerS: Double
            let decodeHitRate: Double
            let bytes: Int

            enum CodingKeys: String, CodingKey {
                case stallMs = "stall_ms", tokensPerS = "tokens_per_s", decodeHitRate = "decode_hit_rate", bytes
            }
        }

        let tokens: Int
        let experts: Int
        let k: Int
        let hardware: String
        let fastTier: String
        let slowTier: String
        let expertBytes: Int
        /// The experts' storage precision in this run (`fp32`, `q4`, …), the one `expert_bytes` is counted in.
        let expertPrecision: String
        let cacheExperts: Int
        let policy: String
        /// With uniformly random routing a cache of C of E experts holds a requested one with probability C/E:
        /// at top-k slots (`chance_k`, `chance_k2` its older name) and at `cache_experts`.
        let chanceK: Double
        let chanceCache: Double
        let chanceK2: Double
        /// Experts taking 90 % of each layer's slots, in words; the same with even use.
        let skew: String
        let skewEven: Int
        let lastLayer: Int
        /// Per policy key (`lru`, `lfu`, `optimal`, `static`, `lru_prefetch`): at `cache_experts` and at top-k slots.
        let atCache: [String: Figures]
        let atK: [String: Figures]
        /// Markdown: hit rate per cache size and policy.
        let table: String
        /// LRU's misses ÷ the optimum's at `cache_experts` (NaN unless both were swept).
        let lruVsOptimal: Double
        /// Per policy key, over all prompts: at top-k slots and at `cache_experts`.
        let spreadAtK: [String: Spread]
        let spreadAtCache: [String: Spread]
        let spreadTable: String
        let promptCount: Int
        let staticVsLru: String
        /// The trace written beside the report.
        let traceFile: String
        let timeline: Timeline
        /// The same run without a cache (tokens/s), the timeline run's speed ÷ that, and the paper's measured
        /// gain beside it, in words.
        let noCacheTokensPerS: Double
        let cacheGain: Double
        let paperCacheGain: String
        let chartHitRate: ChartFile
        let chartTransferTimeline: ChartFile

        enum CodingKeys: String, CodingKey {
            case tokens, experts, k, hardware, fastTier = "fast_tier", slowTier = "slow_tier", expertBytes = "expert_bytes",
                 expertPrecision = "expert_precision", cacheExperts = "cache_experts", policy, chanceK = "chance_k", chanceCache = "chance_cache", chanceK2 = "chance_k2",
                 skew, skewEven = "skew_even", lastLayer = "last_layer", atCache = "at_cache", atK = "at_k", table,
                 lruVsOptimal = "lru_vs_optimal", spreadAtK = "spread_at_k", spreadAtCache = "spread_at_cache",
                 spreadTable = "spread_table", promptCount = "prompt_count", staticVsLru = "static_vs_lru", traceFile = "trace_file",
                 timeline, noCacheTokensPerS = "no_cache_tokens_per_s", cacheGain = "cache_gain", paperCacheGain = "paper_cache_gain",
                 chartHitRate = "chart_hit_rate", chartTransferTimeline = "chart_transfer_timeline"
        }
    }

    let prompt: String
    let prompts: [String]
    let maxTokens: Int
    let policies: [PolicySpec]
    let cacheExperts: Int
    /// The timeline run's policy.
    let policy: PolicySpec
    let hardware: HardwareProfile

    init(_ parameters: ExperimentParameters) throws {
        prompt = parameters.text("prompt")
        prompts = parameters.list("prompts")
        maxTokens = parameters.int("max_tokens")
        let swept = try parameters.list("policies").map { name in
            do { return try PolicySpec(name: name) } catch { throw ExperimentParameterError.invalid("policies", reason: "\(error)") }
        }
        do { policy = try PolicySpec(name: parameters.text("policy")) } catch {
            throw ExperimentParameterError.invalid("policy", reason: "\(error)")
        }
        policies = swept.contains(policy) ? swept : swept + [policy]
        cacheExperts = parameters.int("cache_experts")
        hardware = try parameters.hardware("hardware")
        guard maxTokens >= 2 else { throw ExperimentParameterError.invalid("max_tokens", reason: "must be at least 2") }
    }

    func run(in lab: LabContext) throws -> Result {
        let model = try lab.model(lab.basePrecision)
        let c = model.config
        guard (1...c.numExperts).contains(cacheExperts) else {
            throw ExperimentParameterError.invalid("cache_experts", reason: "must be 1…\(c.numExperts)")
        }
        let ids = lab.tokenizer.encode(prompt, addBOS: true)
        lab.progress("recording the routing of \(counted(maxTokens, "token"))")
        let run = try RecordedRun.record(model: model, prompt: ids, maxTokens: maxTokens,
                                         lookahead: policies.map(\.lookahead).max() ?? 0)
        let cost = CostModel(hardware: hardware, footprint: ModelFootprint(model: model))
        let sizes = Array(1...c.numExperts)
        let sweep = try run.sweep(policies: policies, cacheSizes: sizes, cost: cost)

        var table = MarkdownTable(["cache (experts/layer)"] + policies.map { "\($0) hit rate" })
        for size in sizes {
            table.rows.append(["\(size)"] + policies.map { policy in
                let s = sweep.first { $0.policy == policy.description && $0.cacheExperts == size }!
                return String(format: "%.1f %%", s.hitRate * 100)
            })
        }
        var atCache: [String: Result.Figures] = [:], atK: [String: Result.Figures] = [:]
        for s in sweep {
            guard let policy = policies.first(where: { $0.description == s.policy }) else { continue }
            let figures = Result.Figures(hitRate: s.hitRate, decodeHitRate: s.decodeHitRate, bytes: s.bytesTransferred,
                                         tokensPerS: s.tokensPerSecondEst, misses: s.misses, stallMs: s.stallUs / 1000)
            if s.cacheExperts == cacheExperts { atCache[Self.key(policy)] = figures }
            if s.cacheExperts == c.numExpertsPerToken { atK[Self.key(policy)] = figures }
        }
        var lruVsOptimal = Double.nan
        if let lru = sweep.first(where: { $0.policy == PolicySpec.lru.description && $0.cacheExperts == cacheExperts }),
           let optimal = sweep.first(where: { $0.policy == PolicySpec.optimal.description && $0.cacheExperts == cacheExperts }) {
            lruVsOptimal = optimal.misses > 0 ? Double(lru.misses) / Double(optimal.misses) : 1.0
        }

        // The same sweep on every prompt: one prompt's routing is one sample, and policies are compared per prompt.
        var runs = [run]
        for other in prompts {
            lab.progress("recording the routing of \(other.debugDescription)")
            runs.append(try RecordedRun.record(model: model, prompt: lab.tokenizer.encode(other, addBOS: true), maxTokens: maxTokens,
                                               lookahead: policies.map(\.lookahead).max() ?? 0))
        }
        let sweeps = [sweep] + (try runs.dropFirst().map { try $0.sweep(policies: policies, cacheSizes: sizes, cost: cost) })
        func hitRates(_ policy: PolicySpec, _ size: Int) -> [Double] {
            sweeps.map { one in one.first { $0.policy == policy.description && $0.cacheExperts == size }!.hitRate }
        }
        var spreadTable = MarkdownTable(["cache (experts/layer)"] + policies.map { "\($0) hit rate: mean (lowest – highest prompt)" })
        var spreadAtK: [String: Spread] = [:], spreadAtCache: [String: Spread] = [:]
        for policy in policies {
            spreadAtK[Self.key(policy)] = Spread(hitRates(policy, c.numExpertsPerToken))
            spreadAtCache[Self.key(policy)] = Spread(hitRates(policy, cacheExperts))
        }
        for size in sizes {
            spreadTable.rows.append(["\(size)"] + policies.map { Spread(hitRates($0, size)).percentText })
        }
        // LRU against the frequency baseline (static: pin the experts the prompt used most), prompt by prompt,
        // at top-k slots and at the timeline's cache size.
        func lruAgainstStatic(_ size: Int) -> String {
            let differences = zip(hitRates(.lru, size), hitRates(.staticPrompt, size)).map { $0 - $1 }
            let wins = differences.filter { $0 > 0 }.count, losses = differences.filter { $0 < 0 }.count
            let ties = differences.count - wins - losses
            let spread = Spread(differences)
            let detail = String(format: "%+.1f points on average, %+.1f to %+.1f", spread.mean * 100, spread.min * 100, spread.max * 100)
            let tied = ties > 0 ? ", tied on \(ties)" : ""
            let slots = counted(size, "slot")
            if wins > 0 && losses == 0 { return "with \(slots) LRU beat static on \(wins) of \(differences.count) prompts\(tied) (\(detail))" }
            if losses > 0 && wins == 0 { return "with \(slots) static did as well or better on every prompt: better on \(losses) of \(differences.count)\(tied) (LRU \(detail))" }
            return "with \(slots) LRU beat static on \(wins) of \(differences.count) prompts and lost on \(losses)\(tied) (\(detail)): they cannot be ranked"
        }
        let staticVsLru = policies.contains(.lru) && policies.contains(.staticPrompt)
            ? Array(Set([c.numExpertsPerToken, cacheExperts])).sorted().map(lruAgainstStatic).joined(separator: "; ")
            : "(add lru and static to the policies to compare them)"

        // One run of the timeline policy, traced: kept in memory for the timeline and written beside the report.
        let sink = CollectingTraceSink()
        let header = TraceHeader(model: lab.modelName, precision: lab.basePrecision.description, policy: policy.description,
                                 cacheExperts: cacheExperts, cacheBytes: cacheExperts * c.numHiddenLayers * model.layers[0].expertBytes[0],
                                 hardware: hardware.name, prompt: prompt, promptTokens: ids, seed: 0,
                                 toolVersion: "mixtral-lab lesson, trace format \(TraceHeader.formatVersion)",
                                 numLayers: c.numHiddenLayers, numExperts: c.numExperts, topK: c.numExpertsPerToken,
                                 assumptions: cost.assumptions)
        let traceURL = lab.output("trace-\(Self.key(policy)).jsonl")
        let writer = try JSONLTraceWriter(url: traceURL, header: header, overwrite: lab.overwrite)
        let traced = try run.simulate(policy: policy, cacheExperts: cacheExperts, cost: cost, sinks: [sink, writer],
                                      tokenText: { lab.tokenizer.decode([$0]) })
        try writer.close()
        // what the cache buys over none, beside the paper's measured gain on Mixtral-8x7B
        let uncached = try run.simulate(policy: .lru, cacheExperts: 0, cost: cost)
        let cacheGain = uncached.tokensPerSecondEst > 0 ? traced.tokensPerSecondEst / uncached.tokensPerSecondEst : Double.nan

        let hitRate = OffloadingCharts.hitRate(sweep, metadata: lab.metadata(
            title: "Expert cache hit rate against cache size",
            description: "Hits / expert accesses over \(counted(run.forwards.count, "token")) of recorded routing, per policy and cache size (experts kept per MoE layer)."))
        let timeline = OffloadingCharts.transfers(sink.layers, metadata: lab.metadata(
            title: "\(policy) cache with \(counted(cacheExperts, "expert")) per layer on \(hardware.name): compute, transfers, stalls",
            description: "Simulated timeline of the first decode steps: compute and expert transfers per layer; stalls are waits for missing experts."))
        return Result(
            tokens: run.forwards.count, experts: c.numExperts, k: c.numExpertsPerToken, hardware: hardware.name,
            fastTier: hardware.fastTierName, slowTier: hardware.slowTierName, expertBytes: model.layers[0].expertBytes[0],
            expertPrecision: lab.basePrecision.precision(for: .experts).rawValue, cacheExperts: cacheExperts, policy: policy.description,
            chanceK: Double(c.numExpertsPerToken) / Double(c.numExperts), chanceCache: Double(cacheExperts) / Double(c.numExperts),
            chanceK2: Double(c.numExpertsPerToken) / Double(c.numExperts),
            skew: spelledList(expertsTaking(0.9, of: run, experts: c.numExperts)), skewEven: Int((0.9 * Double(c.numExperts)).rounded(.up)),
            lastLayer: c.numHiddenLayers - 1, atCache: atCache, atK: atK, table: table.description, lruVsOptimal: lruVsOptimal,
            spreadAtK: spreadAtK, spreadAtCache: spreadAtCache, spreadTable: spreadTable.description, promptCount: runs.count,
            staticVsLru: staticVsLru, traceFile: traceURL.lastPathComponent,
            timeline: Result.Timeline(stallMs: traced.stallUs / 1000, tokensPerS: traced.tokensPerSecondEst,
                                      decodeHitRate: traced.decodeHitRate, bytes: traced.bytesTransferred),
            noCacheTokensPerS: uncached.tokensPerSecondEst, cacheGain: cacheGain,
            paperCacheGain: PaperFigures.compare(cacheGain, with: PaperFigures.gainRange(.noPrefetch, over: .noCache),
                                                 what: "LRU with 4 experts per layer, 2 on the RTX 3060, ÷ no cache"),
            chartHitRate: try lab.write(hitRate, file: "hit-rate.png", caption: "Hit rate against cache size per policy"),
            chartTransferTimeline: try lab.write(timeline, file: "transfer-timeline.png", caption: "Transfer timeline of a \(policy) cache"))
    }

    /// Result key of a policy: `lru`, `lfu`, `optimal`, `static`, `lru_prefetch`, `resident`.
    private static func key(_ policy: PolicySpec) -> String {
        policy.description.replacingOccurrences(of: "+", with: "_").replacingOccurrences(of: "-", with: "_")
    }
}
