import Foundation
import Reports
import Checkpoints
import Engine
import Offloading
import Quantization
import Tensors

/// Lesson 6's closing experiment: the simulator's decode speed against a measured one on the reader's own
/// machine. It probes this machine (`HardwareProbe`: disk reads of one expert projection with the page
/// cache dropped, memory bandwidth, the decode kernel of the lesson's precision on this model's expert
/// shape), then runs the model with its experts really streamed from disk into `cache_experts` slots per
/// layer (`DiskExpertProvider`, expert store in a temporary folder of the output, removed afterwards) once
/// per policy, and replays each run's routing through the simulator on the probed profile.
struct PredictedMeasuredExperiment: Experiment {
    static let name = "predicted-vs-measured"
    static let summary = "Probe this machine, stream the experts from disk, and put the simulator's decode tokens/s on the probed profile beside the measured one."
    /// It streams the experts at `--precision` from a store of its own (its model is not `LabContext.model(_:)`'s).
    static let modelUse: ModelUse = .runPrecision
    static let parameters = [
        ParameterSpec("prompt", .text, "text to continue", default: "ROMEO:\n"),
        ParameterSpec("max_tokens", .int, "tokens to generate per run", default: 24),
        ParameterSpec("cache_experts", .int, "expert slots per layer of the streamed runs", default: 3),
        ParameterSpec("policies", .list, "demand policies to run", default: ["lru", "lfu", "static"]),
        ParameterSpec("probe_mib", .int, "size of the disk probe file, MiB", default: 64),
    ]
    static func variableKeys(_ parameters: ExperimentParameters) throws -> [String: [String]] {
        ["rows": try Self(parameters).policies.map(\.description)]
    }

    struct Result: Codable {
        /// One policy's run: real hit rate, predicted and measured decode tokens/s, measured ÷ predicted.
        struct Row: Codable {
            let hitRate: Double
            let predicted: Double
            let measured: Double
            let ratio: Double

            enum CodingKeys: String, CodingKey { case hitRate = "hit_rate", predicted, measured, ratio }
        }

        /// Markdown: every policy.
        let table: String
        /// The probed machine, its disk (MiB/s, µs per read) and decode kernel (billions of weights/s) at `precision`.
        let machine: String
        let diskMiBS: Double
        let latencyUs: Double
        /// One read of the probed size on the probed line, by the cost model (latency + bytes / bandwidth): its
        /// bytes, time (ms), effective rate (MiB/s) and the latency's share of its time.
        let readBytes: Int
        let readMs: Double
        let readMiBS: Double
        let latencyShare: Double
        let kernelGweightsS: Double
        let precision: String
        let cacheExperts: Int
        let tokens: Int
        /// Rows within ±25 % of their prediction.
        let within: Int
        /// Per policy (`lru`, `lfu`, `static`).
        let rows: [String: Row]
        let verdict: String
        /// Measured ÷ predicted nearest to and farthest from 1.
        let bestRatio: Double
        let worstRatio: Double

        enum CodingKeys: String, CodingKey {
            case table, machine, diskMiBS = "disk_mib_s", latencyUs = "latency_us", readBytes = "read_bytes", readMs = "read_ms",
                 readMiBS = "read_mib_s", latencyShare = "latency_share", kernelGweightsS = "kernel_gweights_s", precision,
                 cacheExperts = "cache_experts", tokens, within, rows, verdict, bestRatio = "best_ratio", worstRatio = "worst_ratio"
        }
    }

    let prompt: String
    let maxTokens: Int
    let cacheExperts: Int
    let policies: [PolicySpec]
    let probeBytes: Int

    init(_ parameters: ExperimentParameters) throws {
        prompt = parameters.text("prompt")
        maxTokens = parameters.int("max_tokens")
        cacheExperts = parameters.int("cache_experts")
        policies = try parameters.list("policies").map { name in
            let policy: PolicySpec
            do { policy = try PolicySpec(name: name) } catch { throw ExperimentParameterError.invalid("policies", reason: "\(error)") }
            guard [.lru, .lfu, .staticPrompt].contains(policy) else {
                throw ExperimentParameterError.invalid("policies", reason: "\(name) is not a demand policy (lru, lfu, static)")
            }
            return policy
        }
        probeBytes = parameters.int("probe_mib") << 20
        guard maxTokens >= 2 else { throw ExperimentParameterError.invalid("max_tokens", reason: "must be at least 2 (one decode step)") }
        guard cacheExperts >= 1 else { throw ExperimentParameterError.invalid("cache_experts", reason: "must be at least 1") }
        guard probeBytes >= 1 << 20 else { throw ExperimentParameterError.invalid("probe_mib", reason: "must be at least 1") }
    }

    func run(in lab: LabContext) throws -> Result {
        let c = lab.checkpoint.config
        guard cacheExperts <= c.numExperts else {
            throw ExperimentParameterError.invalid("cache_experts", reason: "the model has \(c.numExperts) experts per layer; give 1…\(c.numExperts)")
        }
        let precision = lab.basePrecision
        let scratch = lab.output("predicted-vs-measured-scratch")
        try? FileManager.default.removeItem(at: scratch)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        // the experts on disk at the lesson's precision: the checkpoint itself, or a store written here
        let source = try ExpertSource.inPlace(lab.checkpoint, precision: precision)
            ?? ExpertStore.openOrBuild(scratch.appendingPathComponent("store"), checkpoint: lab.checkpoint,
                                       precision: PrecisionSpec(uniform: precision.precision(for: .experts)))

        // probe: reads of one projection, the kernel of this precision on this model's expert shape, at the
        // thread count the engine runs this model with
        lab.progress("probing this machine (disk, memory, the \(precision.precision(for: .experts)) decode kernel)")
        let projectionBytes = source.layout.w1.byteCount
        let probe = HardwareProbe(directory: scratch, fileBytes: max(probeBytes, projectionBytes), readBytes: projectionBytes,
                                  kernelShape: (c.intermediateSize, c.hiddenSize), threads: recommendedBLASThreads(c))
        let expertPrecision = precision.precision(for: .experts)
        let kernels = Array(Set([expertPrecision, precision.precision(for: .attention), precision.precision(for: .head),
                                 precision.precision(for: .router)])).sorted { $0.rawValue < $1.rawValue }
        let profile = try probe.run(name: "this-machine", precisions: kernels)
        setBLASThreads(recommendedBLASThreads(c))

        let ids = lab.tokenizer.encode(prompt, addBOS: true)
        var table = MarkdownTable(["policy", "slots/layer", "hit rate (simulated = real)", "predicted decode tok/s", "measured decode tok/s", "measured / predicted"])
        var rows: [String: Result.Row] = [:]
        var ratios: [Double] = []
        for policy in policies {
            lab.progress("streaming the experts from disk with \(policy), \(counted(cacheExperts, "slot")) per layer")
            let provider = try DiskExpertProvider(source: source, policy: policy, topK: c.numExpertsPerToken)
            let model = try MixtralModel(checkpoint: lab.checkpoint, precision: precision, experts: .streamed(provider))
            try provider.allocateSlots(perLayer: cacheExperts)
            let run = try RecordedRun.record(model: model, prompt: ids, maxTokens: maxTokens)
            var real = provider.finish()
            real.setDecode(tokens: run.decodeTiming.tokens, seconds: run.decodeTiming.seconds)
            let simulated = try run.simulate(policy: policy, cacheExperts: cacheExperts,
                                             cost: CostModel(hardware: profile, footprint: ModelFootprint(model: model)))
            precondition(simulated.hits == real.hits && simulated.misses == real.misses, "one cache step serves both")
            let ratio = simulated.tokensPerSecondEst > 0 ? real.decodeTokensPerSecond / simulated.tokensPerSecondEst : .nan
            ratios.append(ratio)
            table.rows.append([policy.description, "\(cacheExperts)", String(format: "%.3f", real.hitRate),
                               String(format: "%.0f", simulated.tokensPerSecondEst), String(format: "%.0f", real.decodeTokensPerSecond),
                               String(format: "%.2f", ratio)])
            rows[policy.description] = Result.Row(hitRate: real.hitRate, predicted: simulated.tokensPerSecondEst,
                                                  measured: real.decodeTokensPerSecond, ratio: ratio)
        }
        let within = ratios.filter(Self.withinBand.contains).count
        let worst = ratios.max { abs(log($0)) < abs(log($1)) } ?? .nan
        let verdict = Self.verdict(ratios: ratios)
        let readSeconds = profile.linkLatencyUs / 1e6 + Double(projectionBytes) / profile.linkBandwidth
        return Result(table: table.description, machine: profile.measured ?? profile.name,
                      diskMiBS: profile.linkBandwidth / 1_048_576, latencyUs: profile.linkLatencyUs,
                      readBytes: projectionBytes, readMs: readSeconds * 1e3,
                      readMiBS: Double(projectionBytes) / readSeconds / 1_048_576, latencyShare: profile.linkLatencyUs / 1e6 / readSeconds,
                      kernelGweightsS: (profile.decodeWeightsPerSecond?[expertPrecision.rawValue] ?? 0) / 1e9,
                      precision: expertPrecision.rawValue, cacheExperts: cacheExperts, tokens: maxTokens, within: within,
                      rows: rows, verdict: verdict, bestRatio: ratios.min { abs(log($0)) < abs(log($1)) } ?? .nan, worstRatio: worst)
    }

    /// Measured ÷ predicted ratios the lesson counts as "within 25 %" of the prediction.
    static let withinBand = 0.75...1.25

    /// The sentence under the table, following the rows' measured ÷ predicted `ratios`: all within 25 %
    /// (the band the lesson calls a usable guide) → the clock is a usable guide; all at or below 1 →
    /// slower than predicted, and why; all at or above 1 → faster, and why; some each side of 1 → the
    /// spread is run-to-run noise, not a bias of the clock in one direction (one short run per policy).
    static func verdict(ratios: [Double]) -> String {
        let within = ratios.filter(withinBand.contains).count
        if within == ratios.count {
            return "Every row is within 25 % of its prediction: on this machine, the simulator's clock is a usable guide."
        }
        let lowest = ratios.min() ?? .nan, highest = ratios.max() ?? .nan
        let reason: String
        if lowest < 1 && highest > 1 {
            reason = "Some rows ran faster than predicted and some slower, so the spread is noise — one short run per policy on a machine other processes share — not a bias of the clock in one direction"
        } else if highest <= 1 {
            reason = "Slower than predicted: the probe times the kernels as if the process had its cores to itself, so other processes on the machine slow the runs but not the prediction; and the clock leaves out attention over the KV cache, norms, sampling and thread wake-ups, a large share of a step on a model this small"
        } else {
            reason = "Faster than predicted: the disk served the runs faster than it served the probe a moment before (other processes share it, and one probe pass is a small sample), or the clock charged more for the small steps of this model than they cost"
        }
        return String(format: "Measured ÷ predicted runs from %.2f to %.2f over the rows, %d of %d within 25 %%. ", lowest, highest, within, ratios.count)
            + reason + "."
    }
}
