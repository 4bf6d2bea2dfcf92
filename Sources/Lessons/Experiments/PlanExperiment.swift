import Foundation
import Offloading
import Quantization
import Charts

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
    /// `best` (mix, tokens_per_s, cache_experts, …) and per mix index `m1`, `m2`, …: total_gib (all weights, no KV cache), resident_gib (with it),
    /// experts_gib, fits, runnable, cache_experts, hit_rate (assumed), stream_tps, cache_tps, prefetch_tps; `hit_rate`: the
    /// assumption in words.
    /// None: a plan is for the machine the lesson describes (lesson 8's prose is about a 16 GB laptop);
    /// `mixtral-lab plan --hardware` plans for any other.
    static let overridableParameters: [String] = []
    /// It plans for a real Mixtral's shapes; the lab's model is not run.
    static let loadsModel = false
    static let resultKeys = ["table", "model", "hardware", "fast_tier", "slow_tier", "ram_gib", "usable_gib", "best", "hit_rate", "params_b", "*"]

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

    func run(in lab: LabContext) throws -> ExperimentResult {
        let (name, config) = try MixtralShapes.named(modelName)
        let gib = Double(1 << 30)
        var values: [String: Any] = ["model": name, "hardware": hardware.name, "fast_tier": hardware.fastTierName,
                                     "slow_tier": hardware.slowTierName, "ram_gib": Double(ram) / gib,
                                     "usable_gib": Double(ram - reserve) / gib,
                                     "hit_rate": hitRate.map { String(format: "%.0f %%", $0 * 100) } ?? "cached experts ÷ experts",
                                     "params_b": Double(config.parameterCount) / 1e9]
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
            values["m\(i + 1)"] = [
                "mix": mix.description, "total_gib": total / gib, "resident_gib": Double(plan.residentBytes) / gib,
                "experts_gib": Double(plan.allExpertBytes) / gib, "fits": plan.fitsResident, "runnable": plan.runnable,
                "cache_experts": plan.cacheExperts, "stream_tps": tps(.stream), "cache_tps": tps(.demandCache),
                "prefetch_tps": tps(.perfectPrefetch), "resident_tps": tps(.resident), "hit_rate": hitRate,
            ]
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
        values["table"] = table.description
        if let best {
            values["best"] = ["mix": best.mix, "tokens_per_s": best.tps, "cache_experts": best.plan.cacheExperts,
                              "resident_gib": Double(best.plan.residentBytes) / gib, "found": "yes"]
        } else {
            values["best"] = ["mix": "none", "tokens_per_s": 0.0, "cache_experts": 0, "resident_gib": 0.0, "found": "no"]
        }
        let chart = OffloadingCharts.memoryPlan(plans, metadata: lab.metadata(
            title: "\(name) on \(hardware.name) with \(ByteSize.format(ram)): bytes per tensor class",
            description: "Weights per tensor class for each precision mix, against the machine's memory."))
        return ExperimentResult(values: values, charts: [
            try lab.write(chart, file: "memory-plan.png", caption: "What fits: bytes per tensor class per precision mix"),
        ])
    }
}
