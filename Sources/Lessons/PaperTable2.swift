import Foundation
import Engine
import Offloading
import Quantization

/// Table 2 of Eliseev & Mazur 2023 ("Fast Inference of Mixture-of-Experts Language Models with
/// Offloading", arXiv:2312.17238) reproduced by the offloading simulator: decode tokens/s of Mixtral-8x7B
/// with 4-bit attention (`hqq4`) and 2- or 3-bit experts (`hqq2`, `hqq3`) on the paper's four machines
/// (`HardwareProfile.a100_80g`, `.rtx3080Mobile`, `.rtx3060`, `.colabT4`, every number cited there), for
/// the paper's algorithm and its ablations, plus the baseline it left out (`cpu-compute`).
///
/// Sizes are Mixtral-8x7B's (`MixtralShapes.mixtral8x7B` at the spec's nominal bits per weight; router,
/// embedding and LM head fp16). Routing is not: it is recorded on `lab`'s model at the same precisions —
/// a prompt from its held-out text, then greedy decoding — and stretched to 32 layers
/// (`RecordedRun.tiled`), so hit rates and prefetch accuracy are the small model's.
///
/// The rows (the paper's section 4.3): LRU cache of `slots` experts per layer with speculative prefetch of
/// the next layer's top-2 guesses (`lru+prefetch`, lookahead 1); the same without prefetch (`lru`); no cache
/// (0 slots: every expert read when needed); naive offloading (`CostModel.naiveOffloadingTokenUs`); and
/// `cpu-compute` with the same slots as fixed residents. The paper's slots: 4 per layer, 2 on the RTX 3060.
public struct PaperTable2: Sendable, Encodable {
    public enum Algorithm: String, CaseIterable, Sendable, Encodable {
        case full = "full algorithm"
        case noPrefetch = "w/o expert prefetch"
        case noCache = "w/o LRU cache & prefetch"
        case naive = "naive offloading"
        case cpuCompute = "cpu-compute"
    }

    /// The paper's machines and expert-cache slots per layer.
    public static let machines: [(hardware: HardwareProfile, slots: Int)] = [
        (.a100_80g, 4), (.rtx3080Mobile, 4), (.rtx3060, 2), (.colabT4, 4),
    ]
    /// The paper's expert precisions (attention is `hqq4` in both).
    public static let expertPrecisions: [Precision] = [.hqq2, .hqq3]
    /// Speculative prefetch of the full algorithm: the next layer's 2 likeliest experts.
    public static let prefetch = PrefetchSettings(experts: 2, lookahead: 1)

    public struct Row: Sendable, Encodable {
        public let machine: String
        public let experts: String
        public let algorithm: Algorithm
        /// Fast-tier expert slots per layer (nil for naive offloading, which moves whole layers).
        public let slots: Int?
        public let tokensPerSecond: Double
        /// Decode hit rate of the expert cache (nil for naive offloading).
        public let decodeHitRate: Double?
        /// Prefetched experts used by the step they were fetched for / prefetched (full algorithm only).
        public let usefulPrefetches: Double?
        /// GPU memory the weights need: every non-expert weight plus the slots (naive: one layer's experts).
        public let fastTierBytes: Int
        public let fastMemoryBytes: Int
    }

    public let rows: [Row]
    public let promptTokens: Int
    public let decodeTokens: Int
    public let modelName: String
    /// Each machine's profile and the clock's rules, in plain words.
    public let assumptions: [String]

    /// Records routing on `lab`'s model and simulates every machine × expert precision × algorithm.
    /// - Parameters:
    ///   - promptTokens: held-out tokens forming the prompt (≥ 1).
    ///   - decodeTokens: tokens decoded after it (≥ 1).
    /// - Throws: what loading, quantizing or running the model throws; `CheckpointError` without held-out text.
    public static func measure(in lab: LabContext, promptTokens: Int, decodeTokens: Int) throws -> PaperTable2 {
        let prompt = Array(try lab.heldoutTokens().prefix(promptTokens))
        let shapes = MixtralShapes.mixtral8x7B
        var rows: [Row] = []
        var assumptions: [String] = []
        for experts in expertPrecisions {
            lab.progress("recording routing with attention hqq4, experts \(experts.rawValue)")
            let model = try lab.model(PrecisionSpec([.attention: .hqq4, .experts: experts]))
            let lookahead = min(prefetch.lookahead, model.config.numHiddenLayers - 1)
            let run = try RecordedRun.record(model: model, prompt: prompt, maxTokens: decodeTokens + 1, lookahead: lookahead)
                .tiled(layers: shapes.numHiddenLayers)
            let spec = PrecisionSpec([.attention: .hqq4, .experts: experts, .router: .f16, .embedding: .f16, .head: .f16])
            let footprint = ModelFootprint(config: shapes, precision: spec)
            for (hardware, slots) in machines {
                let cost = CostModel(hardware: hardware, footprint: footprint)
                if experts == expertPrecisions[0] { assumptions += hardware.assumptions }
                func simulated(_ algorithm: Algorithm, _ policy: PolicySpec, slots: Int) throws -> Row {
                    let s = try run.simulate(policy: policy, cacheExperts: slots, cost: cost)
                    return Row(machine: hardware.name, experts: experts.rawValue, algorithm: algorithm, slots: slots,
                               tokensPerSecond: s.tokensPerSecondEst, decodeHitRate: s.decodeHitRate,
                               usefulPrefetches: s.prefetched > 0 ? Double(s.prefetchHits) / Double(s.prefetched) : nil,
                               fastTierBytes: footprint.residentBytes + footprint.cacheBytes(slots: slots),
                               fastMemoryBytes: hardware.fastMemoryBytes)
                }
                rows.append(try simulated(.full, .lruPrefetch(prefetch), slots: slots))
                rows.append(try simulated(.noPrefetch, .lru, slots: slots))
                rows.append(try simulated(.noCache, .lru, slots: 0))
                rows.append(Row(machine: hardware.name, experts: experts.rawValue, algorithm: .naive, slots: nil,
                                tokensPerSecond: 1e6 / cost.naiveOffloadingTokenUs, decodeHitRate: nil, usefulPrefetches: nil,
                                fastTierBytes: footprint.residentBytes + footprint.cacheBytes(slots: footprint.numExperts) / footprint.numLayers,
                                fastMemoryBytes: hardware.fastMemoryBytes))
                rows.append(try simulated(.cpuCompute, .cpuCompute, slots: slots))
            }
        }
        let clock = CostModel(hardware: machines[0].hardware, footprint: ModelFootprint(config: shapes, precision: PrecisionSpec(uniform: .hqq2)))
        assumptions += clock.assumptions.dropFirst(clock.hardware.assumptions.count)
        return PaperTable2(rows: rows, promptTokens: prompt.count, decodeTokens: decodeTokens, modelName: lab.modelName,
                           assumptions: assumptions)
    }

    /// What prefetching did on this routing, from the hqq2 rows: the range of full-algorithm ÷ without-prefetch
    /// tokens/s over the machines and the share of prefetched experts that were used, beside a random guess's
    /// (top-k of the experts).
    public func prefetchVerdict(topK: Int, experts: Int) -> String {
        let pairs = rows.filter { $0.experts == Precision.hqq2.rawValue && $0.algorithm == .full }.compactMap { full -> (Double, Double?)? in
            guard let without = tokensPerSecond(machine: full.machine, experts: .hqq2, .noPrefetch) else { return nil }
            return (full.tokensPerSecond / without, full.usefulPrefetches)
        }
        guard let low = pairs.map(\.0).min(), let high = pairs.map(\.0).max() else { return "" }
        let used = pairs.compactMap(\.1)
        let usedText = used.isEmpty ? "" : String(format: "; %.0f–%.0f %% of the prefetched experts were used (a random guess of %d of %d: %.0f %%)",
                                                  100 * used.min()!, 100 * used.max()!, topK, experts, 100 * Double(topK) / Double(experts))
        let ratio = String(format: "%.2f–%.2f×", low, high)
        if high < 1 {
            return "On this routing prefetching slows every machine (full algorithm \(ratio) the speed without it)\(usedText): "
                + "a wrong guess spends link time and can evict a cached expert. Prefetching pays only where the next layer's guess is far better than chance."
        }
        if low > 1 { return "On this routing prefetching speeds every machine up (full algorithm \(ratio) the speed without it)\(usedText)." }
        return "On this routing prefetching helps some machines and slows others (full algorithm \(ratio) the speed without it)\(usedText)."
    }

    /// One row's simulated tokens/s.
    public func tokensPerSecond(machine: String, experts: Precision, _ algorithm: Algorithm) -> Double? {
        rows.first { $0.machine == machine && $0.experts == experts.rawValue && $0.algorithm == algorithm }?.tokensPerSecond
    }

    /// The table in the paper's layout: one block per machine, a row per algorithm, a column group per
    /// expert precision.
    public var text: String {
        var header = ["machine", "algorithm", "slots/layer"]
        for p in Self.expertPrecisions {
            header += ["\(p.rawValue) tok/s", "\(p.rawValue) hit rate", "\(p.rawValue) GPU GB"]
        }
        header.append("useful prefetches (hqq2)")
        var table = MarkdownTable(header)
        for (hardware, _) in Self.machines {
            for algorithm in Algorithm.allCases {
                let cells = Self.expertPrecisions.compactMap { p in
                    rows.first { $0.machine == hardware.name && $0.experts == p.rawValue && $0.algorithm == algorithm }
                }
                guard let first = cells.first else { continue }
                var line = [hardware.name, algorithm.rawValue, first.slots.map { "\($0)" } ?? "all, per layer"]
                for row in cells {
                    let fits = row.fastTierBytes <= row.fastMemoryBytes ? "" : " (does not fit)"
                    line += [String(format: "%.2f", row.tokensPerSecond), row.decodeHitRate.map { String(format: "%.2f", $0) } ?? "–",
                             String(format: "%.1f", Double(row.fastTierBytes) / 1e9) + fits]
                }
                line.append(first.usefulPrefetches.map { String(format: "%.2f", $0) } ?? "–")
                table.rows.append(line)
            }
        }
        return table.description
    }

    /// What the simulated figures leave out, in plain words (printed under the table).
    public static let leftOut = [
        "the paper's figures are measured in PyTorch: Python and kernel-launch overheads per layer and HQQ's dequantize-then-multiply kernels are not simulated (the clock charges weight bytes / GPU memory bandwidth), so fast GPUs are flattered most",
        "peak and datasheet rates throughout: a real PCIe copy from non-pinned memory, a laptop GPU at its power limit or a CPU below its peak bandwidth is slower",
        "routing is the default model's, stretched to 32 layers: Mixtral-8x7B's own expert reuse and prefetch accuracy differ",
        "cpu-compute: host CPU roofline at peak bandwidth with its sparse fixed residents (experts 0 … slots − 1); llama.cpp's own 2- and 3-bit formats and its thread scheduling are not modelled",
        "naive offloading: every expert of a layer copied for every token, nothing overlapped; attention stays on the GPU",
    ]
}
