import Foundation
import Engine
import Offloading
import Quantization

/// Table 2 of Eliseev & Mazur 2023 ("Fast Inference of Mixture-of-Experts Language Models with
/// Offloading", arXiv:2312.17238) reproduced by the offloading simulator: decode tokens/s of Mixtral-8x7B
/// with 4-bit attention (`hqq4`) and 2- or 3-bit experts (`hqq2`, `hqq3`) on the paper's four machines
/// (`HardwareProfile.a100_80g`, `.rtx3080Mobile`, `.rtx3060`, `.colabT4`, every number cited there), for
/// the paper's algorithm and its ablations, plus the baseline it left out (`cpu-compute`) and its per-miss
/// variant (`cheaper`); beside each row the paper's measured figure (`PaperFigures.table2`) and the ratio.
///
/// Sizes are Mixtral-8x7B's (`MixtralShapes.mixtral8x7B` at the spec's nominal bits per weight; router,
/// embedding and LM head fp16). Routing is not: it is recorded on `lab`'s model at the same precisions —
/// a prompt from its held-out text, then greedy decoding — and stretched to 32 layers
/// (`RecordedRun.tiled`), so hit rates and prefetch accuracy are the small model's.
///
/// The rows (the paper's section 4.3): LRU cache of `slots` experts per layer with speculative prefetch of
/// the next layer's top-2 guesses (`lru+prefetch`, lookahead 1); the same without prefetch (`lru`); no cache
/// (0 slots: every expert read when needed); naive offloading (`CostModel.naiveOffloadingTokenUs`); and
/// `cpu-compute` with the same slots as fixed residents, and `cheaper` (the same, each miss on the host or
/// copied, whichever the profile makes cheaper). The paper's slots: 4 per layer, 2 on the RTX 3060.
public struct PaperTable2: Sendable, Encodable {
    public enum Algorithm: String, CaseIterable, Sendable, Encodable {
        case full = "full algorithm"
        case noPrefetch = "w/o expert prefetch"
        case noCache = "w/o LRU cache & prefetch"
        case naive = "naive offloading"
        case cpuCompute = "cpu-compute"
        case cheaper = "cheaper (host or copy)"

        /// The paper's row for this algorithm (nil for the baselines it has not).
        var paperRow: PaperFigures.Table2Algorithm? {
            switch self {
            case .full: return .full
            case .noPrefetch: return .noPrefetch
            case .noCache: return .noCache
            case .naive: return .naive
            case .cpuCompute, .cheaper: return nil
            }
        }
    }

    /// A simulated figure this many times above or below the paper's gets its explanation printed.
    public static let explainedRatio = 1.5

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
        /// Per decode token: simulated compute and time waiting for copies, ms.
        public let computeMs: Double
        public let stallMs: Double
        /// The paper's measured tokens/s for this cell (nil for cpu-compute and cheaper).
        public let paperTokensPerSecond: Double?
        /// Simulated ÷ paper tokens/s.
        public var ratio: Double? { paperTokensPerSecond.map { tokensPerSecond / $0 } }
    }

    public let rows: [Row]
    public let promptTokens: Int
    public let decodeTokens: Int
    public let modelName: String
    /// Each machine's profile and the clock's rules, in plain words.
    public let assumptions: [String]
    /// Per machine × expert precision: one decode miss computed by the host CPU against copied and computed
    /// on the GPU (ms, from the profile), and which `cheaper` picks.
    public let missCosts: [String]
    /// For every row more than `explainedRatio` times off the paper's figure: the assumption that explains
    /// it, with the numbers that show it.
    public let explanations: [String]

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
        var explanations: [String] = [], missCosts: [String] = []
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
                func paper(_ algorithm: Algorithm) -> Double? {
                    algorithm.paperRow.flatMap { PaperFigures.tokensPerSecond(experts: experts.rawValue, machine: hardware.name, $0) }
                }
                func simulated(_ algorithm: Algorithm, _ policy: PolicySpec, slots: Int) throws -> Row {
                    let s = try run.simulate(policy: policy, cacheExperts: slots, cost: cost)
                    let tokens = Double(max(1, s.decodeTokens))
                    return Row(machine: hardware.name, experts: experts.rawValue, algorithm: algorithm, slots: slots,
                               tokensPerSecond: s.tokensPerSecondEst, decodeHitRate: s.decodeHitRate,
                               usefulPrefetches: s.prefetched > 0 ? Double(s.prefetchHits) / Double(s.prefetched) : nil,
                               fastTierBytes: footprint.residentBytes + footprint.cacheBytes(slots: slots),
                               fastMemoryBytes: hardware.fastMemoryBytes,
                               computeMs: (s.decodeUs - s.decodeStallUs) / tokens / 1000, stallMs: s.decodeStallUs / tokens / 1000,
                               paperTokensPerSecond: paper(algorithm))
                }
                rows.append(try simulated(.full, .lruPrefetch(prefetch), slots: slots))
                rows.append(try simulated(.noPrefetch, .lru, slots: slots))
                rows.append(try simulated(.noCache, .lru, slots: 0))
                let naiveCopyMs = footprint.expertBytes.joined().reduce(0.0) { $0 + cost.transferUs(bytes: $1) } / 1000
                rows.append(Row(machine: hardware.name, experts: experts.rawValue, algorithm: .naive, slots: nil,
                                tokensPerSecond: 1e6 / cost.naiveOffloadingTokenUs, decodeHitRate: nil, usefulPrefetches: nil,
                                fastTierBytes: footprint.residentBytes + footprint.cacheBytes(slots: footprint.numExperts) / footprint.numLayers,
                                fastMemoryBytes: hardware.fastMemoryBytes,
                                computeMs: cost.naiveOffloadingTokenUs / 1000 - naiveCopyMs, stallMs: naiveCopyMs,
                                paperTokensPerSecond: paper(.naive)))
                rows.append(try simulated(.cpuCompute, .cpuCompute, slots: slots))
                rows.append(try simulated(.cheaper, .cheaper, slots: slots))
                explanations += explain(rows.suffix(Algorithm.allCases.count), cost: cost, footprint: footprint)
                let bytes = footprint.largestExpertBytes
                let hostMs = cost.hostExpertUs(layer: 0, expert: 0, rows: 1)! / 1000
                let copyMs = cost.transferUs(bytes: bytes) / 1000, gpuMs = cost.expertUs(layer: 0, expert: 0, rows: 1) / 1000
                missCosts.append("\(hardware.name), \(experts.rawValue): " + String(format: "host %.2f ms (%.1f MB at %.1f GB/s host memory) against copy %.2f ms (%.1f GB/s link) + GPU %.2f ms → ",
                    hostMs, Double(bytes) / 1e6, hardware.hostMemoryBandwidth! / 1e9, copyMs, hardware.linkBandwidth / 1e9, gpuMs)
                    + (cost.hostIsCheaper(layer: 0, expert: 0, rows: 1)! ? "host" : "copy"))
            }
        }
        let clock = CostModel(hardware: machines[0].hardware, footprint: ModelFootprint(config: shapes, precision: PrecisionSpec(uniform: .hqq2)))
        assumptions += clock.assumptions.dropFirst(clock.hardware.assumptions.count)
        return PaperTable2(rows: rows, promptTokens: prompt.count, decodeTokens: decodeTokens, modelName: lab.modelName,
                           assumptions: assumptions, missCosts: missCosts, explanations: explanations)
    }

    /// Explanations for one machine × expert precision's rows that are more than `explainedRatio` off the
    /// paper. The yardstick is the paper's "w/o LRU cache & pre-loading" row, which copies exactly top-2 × 32
    /// experts per token whatever the routing: its measured time per token minus those copies at the
    /// profile's peak link speed and minus the simulated compute is per-token work the simulation does not
    /// charge (its clock has no overhead per layer). Where the simulation is faster, adding that overhead to
    /// its row says whether it accounts for the gap; where it is slower, the simulated copies alone take longer
    /// than the paper's whole token, so the paper's run copied less than the row assumes.
    /// The paper's "w/o LRU cache & pre-loading" time per token minus its top-2 × layers expert copies at the
    /// profile's peak link speed and minus the simulated compute of that row, ms: per-token work the simulated
    /// clock does not charge (nil without the paper's figure).
    public static func unchargedMs(noCache: Row, cost: CostModel, footprint: ModelFootprint) -> Double? {
        guard let paper = noCache.paperTokensPerSecond else { return nil }
        let copyMs = Double(footprint.topK * footprint.numLayers) * cost.transferUs(bytes: footprint.largestExpertBytes) / 1000
        return 1000 / paper - copyMs - noCache.computeMs
    }

    static func explain(_ rows: ArraySlice<Row>, cost: CostModel, footprint: ModelFootprint) -> [String] {
        guard let noCache = rows.first(where: { $0.algorithm == .noCache }), let paperNoCache = noCache.paperTokensPerSecond,
              let overheadMs = unchargedMs(noCache: noCache, cost: cost, footprint: footprint) else { return [] }
        let copies = footprint.topK * footprint.numLayers
        let copyMs = Double(copies) * cost.transferUs(bytes: footprint.largestExpertBytes) / 1000
        let place = "\(noCache.machine), \(noCache.experts)"
        func off(_ row: Row) -> Bool { row.ratio.map { $0 > explainedRatio || $0 < 1 / explainedRatio } ?? false }
        var lines: [String] = []
        let faster = rows.filter { off($0) && $0.ratio! > 1 }
        if !faster.isEmpty {
            let listed = faster.map { "\($0.algorithm.rawValue) " + String(format: "%.2f×", $0.ratio!) }.joined(separator: ", ")
            let corrected = faster.map { row in
                "\(row.algorithm.rawValue) " + String(format: "%.2f×", 1000 / (1000 / row.tokensPerSecond + max(0, overheadMs)) / row.paperTokensPerSecond!)
                    + (row.algorithm == .noCache ? " (by construction)" : "")
            }.joined(separator: ", ")
            lines.append("\(place): simulated \(listed) the paper. Assumption: no per-layer overhead (compute = weight bytes / GPU memory bandwidth). "
                + String(format: "The paper's no-cache row (%.0f ms/token) minus its %d expert copies at the link's peak (%.0f ms) and the simulated compute (%.1f ms) leaves %.0f ms per token (%.1f ms per layer) ",
                         1000 / paperNoCache, copies, copyMs, noCache.computeMs, overheadMs, overheadMs / Double(footprint.numLayers))
                + "the clock does not charge (PyTorch, kernel launches, HQQ dequantization); with it added: \(corrected) the paper.")
        }
        for row in rows where off(row) && row.ratio! < 1 {
            lines.append("\(place), \(row.algorithm.rawValue): " + String(format: "simulated %.2f× the paper (%.2f against %.3f tok/s). Assumption: every expert of every layer copied per token at the link's peak, nothing overlapped. "
                + "The simulated copies alone take %.0f ms per token, the paper's whole token %.0f ms: its run copied fewer experts, or overlapped them, than this row assumes.",
                row.ratio!, row.tokensPerSecond, row.paperTokensPerSecond!, row.stallMs, 1000 / row.paperTokensPerSecond!)
                + (row.experts == PaperFigures.table2Oddity.experts && row.machine == PaperFigures.table2Oddity.machine && row.algorithm.paperRow == PaperFigures.table2Oddity.algorithm
                   ? " This is the figure marked (?), faster than the paper's own no-cache row: more likely a typo than a measurement." : ""))
        }
        return lines
    }

    /// What prefetching did on this routing: the range of full-algorithm ÷ without-prefetch tokens/s over
    /// every machine × expert precision cell, and the share of prefetched experts that were used in the
    /// hqq2 rows (the table's column), beside a random guess's (top-k of the experts).
    public func prefetchVerdict(topK: Int, experts: Int) -> String {
        let ratios = prefetchRatios
        guard let low = ratios.min(), let high = ratios.max() else { return "" }
        let used = rows.filter { $0.algorithm == .full && $0.experts == Precision.hqq2.rawValue }.compactMap(\.usefulPrefetches)
        let usedText = used.isEmpty ? "" : String(format: "; with hqq2 experts %.0f–%.0f %% of the prefetched experts were used (a random guess of %d of %d: %.0f %%)",
                                                  100 * used.min()!, 100 * used.max()!, topK, experts, 100 * Double(topK) / Double(experts))
        let ratio = String(format: "%.2f–%.2f×", low, high), cells = " over the \(ratios.count) machine × precision cells"
        let paper = PaperFigures.gainRange(.full, over: .noPrefetch)
        let measured = String(format: " On Mixtral-8x7B the paper measured %.2f–%.2f× (full ÷ without pre-loading, ", paper.lowerBound, paper.upperBound)
            + "\(PaperFigures.citation), Table 2, all eight columns)."
        if high < 1 {
            return "On this routing prefetching slows every machine (full algorithm \(ratio) the speed without it\(cells))\(usedText): "
                + "a wrong guess spends link time and can evict a cached expert. Prefetching pays only where the next layer's guess is far better than chance." + measured
        }
        if low > 1 { return "On this routing prefetching speeds every machine up (full algorithm \(ratio) the speed without it\(cells))\(usedText)." + measured }
        return "On this routing prefetching helps some machines and slows others (full algorithm \(ratio) the speed without it\(cells))\(usedText)." + measured
    }

    /// One row's simulated tokens/s.
    public func tokensPerSecond(machine: String, experts: Precision, _ algorithm: Algorithm) -> Double? {
        rows.first { $0.machine == machine && $0.experts == experts.rawValue && $0.algorithm == algorithm }?.tokensPerSecond
    }

    /// The table in the paper's layout: one block per machine, a row per algorithm, a column group per
    /// expert precision with the paper's measured tokens/s and simulated ÷ paper beside ours.
    public var text: String {
        var header = ["machine", "algorithm", "slots/layer"]
        for p in Self.expertPrecisions {
            header += ["\(p.rawValue) tok/s", "paper", "sim ÷ paper", "\(p.rawValue) hit rate", "\(p.rawValue) GPU GB"]
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
                    let odd = PaperFigures.table2Oddity
                    let mark = row.experts == odd.experts && row.machine == odd.machine && algorithm.paperRow == odd.algorithm ? " (?)" : ""
                    line += [String(format: "%.2f", row.tokensPerSecond),
                             row.paperTokensPerSecond.map { String(format: "%.3f", $0) + mark } ?? "–",
                             row.ratio.map { String(format: "%.2f×", $0) } ?? "–",
                             row.decodeHitRate.map { String(format: "%.2f", $0) } ?? "–",
                             String(format: "%.1f", Double(row.fastTierBytes) / 1e9) + fits]
                }
                line.append(first.usefulPrefetches.map { String(format: "%.2f", $0) } ?? "–")
                table.rows.append(line)
            }
        }
        return table.description
    }

    /// The ranges of full ÷ without-prefetch tokens/s: the paper's over its eight columns and the
    /// simulation's over the same eight machine × precision cells.
    public var prefetchGains: (paper: ClosedRange<Double>, simulated: ClosedRange<Double>) {
        let ratios = prefetchRatios
        return (PaperFigures.gainRange(.full, over: .noPrefetch), ratios.min()!...ratios.max()!)
    }

    /// Full algorithm ÷ without-prefetch tokens/s, one per machine × expert precision cell that has both rows.
    private var prefetchRatios: [Double] {
        rows.filter { $0.algorithm == .full }.compactMap { full -> Double? in
            tokensPerSecond(machine: full.machine, experts: Precision(rawValue: full.experts)!, .noPrefetch).map { full.tokensPerSecond / $0 }
        }
    }

    /// The range of cheaper ÷ cpu-compute and cheaper ÷ full-algorithm tokens/s over the eight cells.
    public func cheaperGain(over algorithm: Algorithm) -> ClosedRange<Double> {
        let ratios = rows.filter { $0.algorithm == .cheaper }.compactMap { row -> Double? in
            tokensPerSecond(machine: row.machine, experts: Precision(rawValue: row.experts)!, algorithm).map { row.tokensPerSecond / $0 }
        }
        return ratios.min()!...ratios.max()!
    }

    /// What the simulated figures leave out, in plain words (printed under the table).
    public static let leftOut = [
        "the paper's figures are measured in PyTorch: Python and kernel-launch overheads per layer and HQQ's dequantize-then-multiply kernels are not simulated (the clock charges weight bytes / GPU memory bandwidth), so fast GPUs are flattered most",
        "peak and datasheet rates throughout: a real PCIe copy from non-pinned memory, a laptop GPU at its power limit or a CPU below its peak bandwidth is slower",
        "routing is the default model's, stretched to 32 layers: Mixtral-8x7B's own expert reuse and prefetch accuracy differ",
        "cheaper: the same fixed experts as cpu-compute; each miss goes to the host CPU when its roofline (host) is at most copy + GPU compute (CostModel.hostIsCheaper), else it is copied through a transient buffer",
        "cpu-compute: host CPU roofline at peak bandwidth with its sparse fixed residents (experts 0 … slots − 1); llama.cpp's own 2- and 3-bit formats and its thread scheduling are not modelled",
        "naive offloading: every expert of a layer copied for every token, nothing overlapped; attention stays on the GPU",
    ]
}
