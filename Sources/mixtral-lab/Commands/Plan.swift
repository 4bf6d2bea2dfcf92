import ArgumentParser
import Foundation
import Charts
import Checkpoints
import Reports
import Offloading
import Quantization

/// `mixtral-lab plan`: will this model run on this machine, at which precision, with which expert cache,
/// and how fast — from real shapes, without loading any weights.
struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Plan memory and estimate decode speed for a Mixtral model on a machine (no weights loaded).",
        discussion: """
        Non-expert weights and the KV cache stay in the fast tier (GPU memory with --vram, otherwise RAM); as \
        many experts per layer as fit beside them form the expert cache; the rest live in the slow tier \
        (host RAM behind a GPU, or the SSD behind RAM). Without --precision, several precision mixes are \
        compared and the fastest that fits is detailed. Estimates use the hit rate from --hit-rate, a \
        summary.json from `trace` (--measured), or the uniform-routing rate slots / experts.
        """)

    @Option(help: ArgumentHelp("mixtral-8x7b, mixtral-8x22b, or a checkpoint directory / config.json.", valueName: "name|path"))
    var model: String = "mixtral-8x7b"
    @Option(parsing: .unconditional, help: ArgumentHelp("RAM, e.g. 16GiB (default: the hardware profile's).", valueName: "size"),
            transform: SizeArgument.parser(flag: "--ram"))
    var ram: SizeArgument?
    @Option(parsing: .unconditional, help: ArgumentHelp("GPU memory; 0 = no GPU, the CPU computes from RAM and experts spill to the SSD.", valueName: "size"),
            transform: SizeArgument.parser(flag: "--vram"))
    var vram = SizeArgument("0")
    @Option(help: ArgumentHelp("Weight precision (as for generate); default: compare several.", valueName: "spec"),
            transform: PrecisionSpec.init(parsing:))
    var precision: PrecisionSpec?
    @Option(help: ArgumentHelp("Hardware profile or JSON file (default: laptop-16gb-nvme without --vram, colab-t4 with it).", valueName: "name|file"))
    var hardware: String?
    @Option(parsing: .unconditional, help: "Expert cache hit rate to assume, 0…1.") var hitRate: Double?
    @Option(help: ArgumentHelp("A summary.json written by `trace`: use its measured decode hit rate.", valueName: "file"))
    var measured: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Fast-tier memory kept free for the OS, runtime and activations.", valueName: "size"),
            transform: SizeArgument.parser(flag: "--reserve"))
    var reserve = SizeArgument("2GiB")
    @Option(name: .customLong("context"), parsing: .unconditional,
            help: "Context positions of KV cache to plan for, up to the model's max_position_embeddings (default: 4096, or the model's maximum when smaller).")
    var contextFlag: Int?
    @Option(help: ArgumentHelp("Also draw memory-plan.png (bytes per tensor class per precision mix against the memory lines) into this folder.", valueName: "dir"))
    var charts: String?
    @Flag(help: "Replace an existing chart file.") var force = false

    static let candidateSpecs = ["bf16", "int8", "q4", "nf4-dq", "attn=int8,experts=q4,embed=int8,head=int8",
                                 "attn=int8,experts=nf4-dq,embed=int8,head=int8"]

    func validate() throws {
        if let hitRate, !(0...1).contains(hitRate) { throw ValidationError("--hit-rate must be between 0 and 1") }
        if hitRate != nil && measured != nil { throw ValidationError("give --hit-rate or --measured, not both") }
        if let contextFlag, contextFlag < 1 { throw ValidationError("--context must be at least 1") }
    }

    /// `--context`, at most the positions the model has (a KV cache longer than the model's context plans
    /// for nothing it can run); default 4096, or the model's maximum when smaller.
    /// - Throws: `ValidationError` naming the flag and the model's limit.
    private func contextPositions(_ config: MixtralConfig, name: String) throws -> Int {
        let limit = config.maxPositionEmbeddings
        guard let contextFlag else { return min(4096, limit) }
        guard contextFlag <= limit else {
            throw ValidationError("--context \(contextFlag): \(name) has \(limit) positions (max_position_embeddings); give 1…\(limit)")
        }
        return contextFlag
    }

    func run() throws { try run(printing: { emit($0) }) }

    /// Prints the plan, handing each line of standard output to `out` (tests read it there).
    func run(printing out: (String) -> Void) throws {
        let (name, config) = try MixtralShapes.named(model)
        let context = try contextPositions(config, name: name)
        // Refuse an unusable --charts before the plan is printed, not after.
        let chartFolder = charts.map { URL(fileURLWithPath: $0) }
        if let chartFolder { try createChartFolder(chartFolder, files: ["memory-plan.png"], force: force) }
        let vramBytes = vram.bytes
        let ramBytes = ram?.bytes
        let reserveBytes = reserve.bytes
        let profile = try HardwareProfile.named(hardware ?? (vramBytes > 0 ? "colab-t4" : "laptop-16gb-nvme"))
        // With a GPU: fast = VRAM, slow = RAM. Without: fast = RAM, slow = the profile's slow tier (SSD).
        let fast = vramBytes > 0 ? vramBytes : (ramBytes ?? profile.fastMemoryBytes)
        let slow = vramBytes > 0 ? (ramBytes ?? profile.slowMemoryBytes) : profile.slowMemoryBytes
        guard fast > reserveBytes else {
            throw ValidationError("\(vramBytes > 0 ? "--vram" : ram != nil ? "--ram" : "--hardware \(profile.name)'s memory") \(ByteSize.format(fast)) leaves nothing after --reserve \(ByteSize.format(reserveBytes)) kept free")
        }
        let measuredSummary = try measured.map { try readTraceSummary($0, flag: "--measured") }
        if let measured, let rate = measuredSummary?.decodeHitRate, !(0...1).contains(rate) {
            throw ValidationError("--measured \(measured): decode_hit_rate \(rate) is not between 0 and 1")
        }
        if let measured, let s = measuredSummary, s.decodeAccesses == 0 {
            throw ValidationError("--measured \(measured): the run had no decode step (decode_hits and decode_misses are 0), so its decode_hit_rate measures nothing; trace with --max-tokens 2 or more")
        }
        let measuredRate = measuredSummary?.decodeHitRate

        func plan(_ spec: PrecisionSpec) -> MemoryPlan {
            MemoryPlan(config: config, precision: spec, hardware: profile, fastBytes: fast, slowBytes: slow,
                       reserveBytes: reserveBytes, contextTokens: context)
        }
        func rate(_ p: MemoryPlan) -> Double { hitRate ?? measuredRate ?? p.uniformHitRate }

        let fastName = vramBytes > 0 ? "GPU memory" : (profile.fastTier ?? "fast tier")
        let slowName = vramBytes > 0 ? "host RAM" : (profile.slowTier ?? "slow tier")
        out("\(name): \(config.numHiddenLayers) layers, \(config.numExperts) experts per layer (top-\(config.numExpertsPerToken)), hidden \(config.hiddenSize), intermediate \(config.intermediateSize), vocab \(config.vocabSize)")
        out("machine: \(fastName) \(ByteSize.format(fast)) (\(ByteSize.format(reserveBytes)) kept free), \(slowName) \(ByteSize.format(slow)); speeds from profile \(profile.name)")
        out("")

        let chosen: MemoryPlan
        let plans: [MemoryPlan]
        if let precision {
            chosen = plan(precision)
            plans = [chosen]
        } else {
            plans = try Self.candidateSpecs.map { plan(try PrecisionSpec(parsing: $0)) }
            out("precision mixes (router fp32 throughout):")
            out(padColumn("precision", 58) + padColumn("model size", 12, right: true) + padColumn("slots", 7, right: true)
                 + padColumn("hit rate", 10, right: true) + padColumn("est. tok/s", 14, right: true))
            for p in plans {
                let best = p.bestRealisticTokensPerSecond(hitRate: rate(p))
                out(padColumn(p.precision.description, 58) + padColumn(ByteSize.format(p.footprint.residentBytes + p.allExpertBytes), 12, right: true)
                     + padColumn(p.runnable ? "\(p.cacheExperts)" : "-", 7, right: true)
                     + padColumn(p.runnable && p.cacheExperts > 0 ? String(format: "%.2f", rate(p)) : "-", 10, right: true)
                     + padColumn(p.runnable ? String(format: "%.2f", best) : "does not fit", 14, right: true))
            }
            if let measuredSummary, let measured, plans.contains(where: { $0.runnable && $0.cacheExperts > 0 && $0.cacheExperts != measuredSummary.cacheExperts }) {
                out("(the hit rate \(String(format: "%.2f", measuredSummary.decodeHitRate)) was measured in \(measured) with \(counted(measuredSummary.cacheExperts, "slot")) per layer, on that run's model; rows with other slot counts assume it, they do not measure it)")
            }
            out("")
            let runnable = plans.filter(\.runnable)
            chosen = runnable.max { $0.bestRealisticTokensPerSecond(hitRate: rate($0)) < $1.bestRealisticTokensPerSecond(hitRate: rate($1)) }
                ?? plans.min { $0.residentBytes < $1.residentBytes }!
            out(runnable.isEmpty ? "nothing fits; the smallest mix in detail:" : "fastest mix that fits, in detail:")
        }
        describe(chosen, hitRate: rate(chosen), hitRateSource: hitRate != nil ? "--hit-rate" : measuredSummary.map { "measured in \(measured!) with \(counted($0.cacheExperts, "slot")) per layer" } ?? "uniform routing: slots / experts",
                 fastName: fastName, slowName: slowName, modelName: name, printing: out)
        if let chartFolder {
            let metadata = PNGMetadata(
                title: "\(name) memory per precision mix, on \(profile.name)",
                description: "Stacked bytes per tensor class for each precision mix (router fp32 throughout) and the KV cache for \(context) positions; "
                    + "dashed lines: \(fastName) (total, and usable after \(ByteSize.format(reserveBytes)) kept free: a bar above it needs offloading) "
                    + "and usable \(fastName) + \(slowName) (a bar above it cannot run) when it is on the scale.",
                source: model, command: CommandLine.arguments.joined(separator: " "), model: name,
                precision: plans.map(\.precision.description).joined(separator: "; "))
            try writeChart(OffloadingCharts.memoryPlan(plans.map { (mix: OffloadingCharts.mixLabel($0.precision), plan: $0) }, metadata: metadata),
                           file: "memory-plan.png", in: chartFolder, force: force)
        }
    }

    private func describe(_ p: MemoryPlan, hitRate: Double, hitRateSource: String, fastName: String, slowName: String, modelName: String,
                          printing out: (String) -> Void) {
        out("precision \(p.precision)")
        out(padColumn("tensor class", 14) + padColumn("precision", 10) + padColumn("weights", 14, right: true) + padColumn("bytes", 12, right: true))
        for tensorClass in TensorClass.allCases {
            let weights = p.footprint.parametersByClass[tensorClass] ?? 0
            out(padColumn(tensorClass.rawValue, 14) + padColumn(p.precision.precision(for: tensorClass).rawValue, 10)
                 + padColumn(String(format: "%.3f B", Double(weights) / 1e9), 14, right: true)
                 + padColumn(ByteSize.format(p.footprint.bytesByClass[tensorClass] ?? 0), 12, right: true))
        }
        out(padColumn("norms", 14) + padColumn("fp32", 10) + padColumn("", 14) + padColumn(ByteSize.format((2 * p.config.numHiddenLayers + 1) * p.config.hiddenSize * 4), 12, right: true))
        out(padColumn("KV cache", 14) + padColumn("fp32", 10) + padColumn("\(p.contextTokens) pos", 14, right: true) + padColumn(ByteSize.format(p.kvCacheBytes), 12, right: true))
        out("one expert: \(ByteSize.format(p.expertBytes)); all experts: \(ByteSize.format(p.allExpertBytes))")
        out("")
        out("\(fastName) (\(ByteSize.format(p.fastBytes)) usable): always resident \(ByteSize.format(p.residentBytes)) (non-expert weights + KV cache)"
             + (p.fitsResident ? " + every expert: everything fits, no offloading needed" :
                " + expert cache \(p.cacheExperts) of \(p.config.numExperts) per layer (\(ByteSize.format(p.cacheExperts * p.config.numHiddenLayers * p.expertBytes)))"))
        if !p.fitsResident {
            out("\(slowName) (\(ByteSize.format(p.slowBytes))): offloaded experts \(ByteSize.format(p.offloadedBytes))"
                 + (p.offloadedBytes <= p.slowBytes ? "" : " — does not fit"))
        }
        out("")
        guard p.runnable else {
            if p.residentBytes > p.fastBytes {
                out("answer: \(modelName) does not run here at \(p.precision): the non-expert weights and KV cache alone need \(ByteSize.format(p.residentBytes)), \(fastName) has \(ByteSize.format(p.fastBytes)) usable. \(precision == nil ? "No mix above fits: a shorter --context or more memory." : "Try a lower precision or a shorter --context.")")
            } else {
                out("answer: \(modelName) does not run here at \(p.precision): the offloaded experts need \(ByteSize.format(p.offloadedBytes)) of \(slowName), which holds \(ByteSize.format(p.slowBytes)).")
            }
            return
        }
        out("decode estimates (batch 1), cache hit rate \(fixed(hitRate)) from \(hitRateSource):")
        out(padColumn("strategy", 56) + padColumn("hit rate", 9, right: true) + padColumn("ms/token", 11, right: true)
             + padColumn("stall ms", 10, right: true) + padColumn("tokens/s", 10, right: true))
        let estimates = p.estimates(hitRate: hitRate)
        for e in estimates {
            out(padColumn(e.strategy, 56) + padColumn(String(format: "%.2f", e.hitRate), 9, right: true)
                 + padColumn(String(format: "%.1f", e.tokenUs / 1000), 11, right: true)
                 + padColumn(String(format: "%.1f", e.stallUs / 1000), 10, right: true)
                 + padColumn(String(format: "%.2f", e.tokensPerSecond), 10, right: true))
        }
        out("assumptions:")
        for line in p.cost.assumptions { out("  - " + line) }
        out("  - hit rates apply to decode; misses per layer = (1 − hit rate) × top-k, each one expert transfer")
        if estimates.contains(where: { $0.kind == .cpuCompute }) {
            out("  - cpu-compute: fixed slots chosen without the routing serve slots / experts of the accesses; each miss is computed by the host CPU from \(slowName), not copied")
            out("  - cheaper: the same fixed slots; each miss computed by the host CPU or copied, whichever the profile makes cheaper (host \(ms(p.cost.hostExpertUs(layer: 0, expert: 0, rows: 1))) ms, copy + compute \(ms(p.cost.transferUs(bytes: p.expertBytes) + p.cost.expertUs(layer: 0, expert: 0, rows: 1))) ms per expert)")
        }
        out("")
        if p.fitsResident {
            out("answer: yes — \(modelName) fits entirely in \(fastName) at \(p.precision); about \(fixed(estimates[0].tokensPerSecond)) tokens/s.")
        } else {
            let demand = estimates.first { $0.kind == .demandCache } ?? estimates[0]
            let prefetch = estimates.first { $0.kind == .perfectPrefetch }
            let stream = estimates.first { $0.kind == .stream }!
            out("answer: yes, with offloading — at \(p.precision) keep \(p.cacheExperts) of \(p.config.numExperts) experts per layer in \(fastName) "
                 + "and read the rest from \(slowName) on demand: about \(fixed(demand.tokensPerSecond)) tokens/s with an LRU cache at hit rate \(fixed(hitRate))"
                 + (prefetch.map { ", at most \(fixed($0.tokensPerSecond)) with perfect prefetch" } ?? "")
                 + " (streaming every expert: \(fixed(stream.tokensPerSecond)) tokens/s).")
        }
    }
}

/// µs as ms with two decimals ("–" for nil).
private func ms(_ us: Double?) -> String { us.map { String(format: "%.2f", $0 / 1000) } ?? "–" }

/// `value` with two decimals.
private func fixed(_ value: Double) -> String { String(format: "%.2f", value) }
