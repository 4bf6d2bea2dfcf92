import Foundation
import Offloading
import Quantization
import Charts
import Reports

/// Lesson 8's experiment: real Mixtral shapes (not our small model) across precision mixes on a machine —
/// what must stay in memory, how many experts per layer fit in the cache, and estimated decode speed with
/// and without offloading.
struct PlanExperiment: Experiment {
    static let name = "plan"
    static let summary = "Memory plan and estimated tokens/s of a real Mixtral across precision mixes on one machine."
    static let parameters = [
        ParameterSpec("model", .text, "mixtral-8x7b or mixtral-8x22b", default: "mixtral-8x7b"),
        ParameterSpec("hardware", .text, "hardware profile", default: "laptop-16gb-nvme"),
        ParameterSpec("ram", .text, "memory of the fast tier (RAM for a laptop), e.g. 16GiB", default: "16GiB"),
        ParameterSpec("reserve", .text, "fast-tier memory kept free for the OS and activations", default: "2GiB"),
        ParameterSpec("mixes", .list, "precision specs to compare",
                      default: ["bf16", "int8", "q4", "attn=int8,experts=q4,embed=int8,head=int8", "nf4-dq"]),
        ParameterSpec("hit_rate", .text, "expert cache hit rate assumed for the estimate: \"uniform\" (each mix's cached experts ÷ experts, as `mixtral-lab plan` assumes) or a number 0…1 (e.g. measured in lesson 6)", default: "uniform"),
    ]
    /// None: a plan is for the machine the lesson describes (lesson 8's prose is about a 16 GB laptop);
    /// `mixtral-lab plan --hardware` plans for any other.
    static let overridableParameters: [String] = []
    /// It plans for a real Mixtral's shapes (its `model` parameter): the lab's checkpoint is not read, so
    /// `lesson run --model` has nothing to act on.
    static let modelUse: ModelUse = []
    static func variableKeys(_ parameters: ExperimentParameters) throws -> [String: [String]] {
        ["mixes": try parameters.precisionSpecs("mixes").indices.map { "m\($0 + 1)" }]
    }

    struct Result: Codable {
        /// One precision mix's plan.
        struct Mix: Codable {
            let mix: String
            /// All weights (no KV cache); what stays resident (with it); all experts — GiB.
            let totalGiB: Double
            let residentGiB: Double
            let expertsGiB: Double
            /// Whether everything fits resident; whether it runs at all.
            let fits: Bool
            let runnable: Bool
            let cacheExperts: Int
            /// Tokens per second streaming every expert, with an LRU cache, with perfect prefetch, all resident.
            let streamTPS: Double
            let cacheTPS: Double
            let prefetchTPS: Double
            let residentTPS: Double
            /// The hit rate assumed.
            let hitRate: Double

            enum CodingKeys: String, CodingKey {
                case mix, totalGiB = "total_gib", residentGiB = "resident_gib", expertsGiB = "experts_gib", fits, runnable,
                     cacheExperts = "cache_experts", streamTPS = "stream_tps", cacheTPS = "cache_tps", prefetchTPS = "prefetch_tps",
                     residentTPS = "resident_tps", hitRate = "hit_rate"
            }
        }

        /// The fastest runnable mix ("none", found "no" when none runs).
        struct Best: Codable {
            let mix: String
            let tokensPerS: Double
            let cacheExperts: Int
            let residentGiB: Double
            let found: String

            enum CodingKeys: String, CodingKey {
                case mix, tokensPerS = "tokens_per_s", cacheExperts = "cache_experts", residentGiB = "resident_gib", found
            }
        }

        let model: String
        let hardware: String
        let fastTier: String
        let slowTier: String
        let ramGiB: Double
        let usableGiB: Double
        /// The hit-rate assumption in words.
        let hitRate: String
        /// Parameters, billions.
        let paramsB: Double
        /// The KV cache of the 4,096 positions planned for (fp32, the same for every mix), GiB: part of
        /// "always resident" and of the chart's bars, not of the table's "weights".
        let kvCacheGiB: Double
        /// Per mix, in the lab block's order: `m1`, `m2`, …
        let mixes: [String: Mix]
        let best: Best
        /// Markdown: every mix.
        let table: String
        let chartMemoryPlan: ChartFile

        enum CodingKeys: String, CodingKey {
            case model, hardware, fastTier = "fast_tier", slowTier = "slow_tier", ramGiB = "ram_gib", usableGiB = "usable_gib",
                 hitRate = "hit_rate", paramsB = "params_b", kvCacheGiB = "kv_cache_gib", mixes, best, table,
                 chartMemoryPlan = "chart_memory_plan"
        }
    }

    let modelName: String
    let hardware: HardwareProfile
    let ram: Int
    let reserve: Int
    let mixes: [PrecisionSpec]
    /// The `hit_rate` parameter; nil: each plan's `uniformHitRate`, the rate `mixtral-lab plan` uses.
    let hitRate: Double?

    init(_ parameters: ExperimentParameters) throws {
        modelName = parameters.text("model")
        hardware = try parameters.hardware("hardware")
        do {
            ram = try ByteSize.parse(parameters.text("ram"), flag: "ram")
            reserve = try ByteSize.parse(parameters.text("reserve"), flag: "reserve")
        } catch {
            throw ExperimentParameterError.invalid("ram", reason: "\(error)")
        }
        mixes = try parameters.precisionSpecs("mixes")
        let rate = parameters.text("hit_rate")
        if rate == "uniform" {
            hitRate = nil
        } else {
            guard let number = Double(rate), (0...1).contains(number) else {
                throw ExperimentParameterError.invalid("hit_rate", reason: "must be \"uniform\" or a number within 0…1, got \"\(rate)\"")
            }
            hitRate = number
        }
    }

    func run(in lab: LabContext) throws -> Result {
        let (name, config) = try MixtralShapes.named(modelName)
        let gib = Double(1 << 30)
        var byMix: [String: Result.Mix] = [:]
        var table = MarkdownTable(["precision mix", "weights", "always resident", "experts", "cache (experts/layer)",
                                   "hit rate", "stream tok/s", "LRU cache tok/s", "perfect prefetch tok/s"])
        var plans: [(mix: String, plan: MemoryPlan)] = []
        var best: (mix: String, tps: Double, plan: MemoryPlan)?
        for (i, mix) in mixes.enumerated() {
            let plan = MemoryPlan(config: config, precision: mix, hardware: hardware, fastBytes: ram,
                                  reserveBytes: reserve, contextTokens: 4096)
            plans.append((mix.description, plan))
            let hitRate = self.hitRate ?? plan.uniformHitRate
            let estimates = plan.estimates(hitRate: hitRate)
            func tps(_ kind: MemoryPlan.Estimate.Kind) -> Double { estimates.first { $0.kind == kind }?.tokensPerSecond ?? 0 }
            let total = Double(plan.residentBytes - plan.kvCacheBytes + plan.allExpertBytes)   // the weights, as `plan` reports the model size
            byMix["m\(i + 1)"] = Result.Mix(
                mix: mix.description, totalGiB: total / gib, residentGiB: Double(plan.residentBytes) / gib,
                expertsGiB: Double(plan.allExpertBytes) / gib, fits: plan.fitsResident, runnable: plan.runnable,
                cacheExperts: plan.cacheExperts, streamTPS: tps(.stream), cacheTPS: tps(.demandCache),
                prefetchTPS: tps(.perfectPrefetch), residentTPS: tps(.resident), hitRate: hitRate)
            let realistic = plan.runnable ? plan.bestRealisticTokensPerSecond(hitRate: hitRate) : 0
            if plan.runnable, realistic > (best?.tps ?? 0) { best = (mix.description, realistic, plan) }
            table.rows.append([mix.description, String(format: "%.1f GiB", total / gib),
                               String(format: "%.1f GiB", Double(plan.residentBytes) / gib),
                               String(format: "%.1f GiB", Double(plan.allExpertBytes) / gib),
                               plan.residentBytes > plan.fastBytes ? "does not fit" : (plan.fitsResident ? "all \(config.numExperts)" : "\(plan.cacheExperts)"),
                               plan.runnable && plan.cacheExperts > 0 && !plan.fitsResident ? String(format: "%.2f", hitRate) : "—",
                               plan.runnable ? String(format: "%.2f", tps(.stream)) : "—",
                               plan.runnable && plan.cacheExperts > 0 && !plan.fitsResident ? String(format: "%.2f", tps(.demandCache)) : "—",
                               plan.runnable && plan.cacheExperts > 0 && !plan.fitsResident ? String(format: "%.2f", tps(.perfectPrefetch)) : "—"])
        }
        let fastest = best.map { Result.Best(mix: $0.mix, tokensPerS: $0.tps, cacheExperts: $0.plan.cacheExperts,
                                             residentGiB: Double($0.plan.residentBytes) / gib, found: "yes") }
            ?? Result.Best(mix: "none", tokensPerS: 0, cacheExperts: 0, residentGiB: 0, found: "no")
        let chart = OffloadingCharts.memoryPlan(plans, metadata: lab.metadata(
            title: "\(name) on \(hardware.name) with \(ByteSize.format(ram)): bytes per tensor class",
            description: "Weights per tensor class and the KV cache for each precision mix, against the machine's memory."))
        return Result(model: name, hardware: hardware.name, fastTier: hardware.fastTierName, slowTier: hardware.slowTierName,
                      ramGiB: Double(ram) / gib, usableGiB: Double(ram - reserve) / gib,
                      hitRate: hitRate.map { String(format: "%.0f %%", $0 * 100) } ?? "cached experts ÷ experts",
                      paramsB: Double(config.parameterCount) / 1e9, kvCacheGiB: Double(plans.first?.plan.kvCacheBytes ?? 0) / gib, mixes: byMix, best: fastest, table: table.description,
                      chartMemoryPlan: try lab.write(chart, file: "memory-plan.png", caption: "What fits: bytes per tensor class per precision mix"))
    }
}
