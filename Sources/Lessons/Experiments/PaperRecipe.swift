import Foundation
import Reports
import Tensors
import Quantization
import Offloading

/// Lesson 10's experiment, the paper's recipe: what HQQ's optimizer buys over round-to-nearest on the
/// model's expert weights, what group size and the zero-point do at 2 and 3 bits, and Table 1
/// (`PaperTable1`) on the model.
struct PaperRecipeExperiment: Experiment {
    static let name = "paper-recipe"
    static let summary = "HQQ against round-to-nearest, group size and zero-points at 2 and 3 bits, and the paper's Table 1."
    /// It loads the model at the precisions of the paper's Table 1, not at `--precision`.
    static let modelUse: ModelUse = .loadsModel
    static let parameters = [
        ParameterSpec("layer", .int, "layer whose expert weights are measured", default: 0),
        ParameterSpec("experts", .int, "how many of the layer's experts (from expert 0) are measured", default: 2),
        ParameterSpec("heldout_tokens", .int, "held-out tokens per model for Table 1", default: 2048),
        ParameterSpec("decode_tokens", .int, "tokens decoded for Table 2's routing (after a 32-token held-out prompt)", default: 64),
    ]
    /// The optimizer's bit widths, Table 1's grid (attention × experts), the group sizes × bit widths of the
    /// zero-point comparison and Table 2's machines: fixed here, so their keys are too.
    static let optimizerBits = [4, 3, 2]
    static let groupBits = [3, 2]
    static let groupSizes = [16, 32, 64, 128]
    static let machineKeys = ["a100", "rtx3080", "rtx3060", "t4"]

    static func variableKeys(_ parameters: ExperimentParameters) throws -> [String: [String]] {
        let grid = PaperTable1.gridPrecisions.flatMap { a in PaperTable1.gridPrecisions.map { e in cellKey(a.rawValue, e.rawValue) } }
        return ["bits": optimizerBits.map { "b\($0)" },
                "group_sizes": groupBits.flatMap { b in groupSizes.map { "g\($0)_b\(b)" } },
                "cells": grid + PaperTable1.referencePrecisions.map { cellKey($0.rawValue, $0.rawValue) },
                "machines": machineKeys]
    }

    /// Key of a Table 1 cell: `a_hqq4_e_hqq2`.
    static func cellKey(_ attention: String, _ experts: String) -> String { "a_\(attention)_e_\(experts)" }

    struct Result: Codable {
        /// HQQ's optimizer at one bit width: mean |W − Ŵ| with round-to-nearest and with HQQ, the change (%),
        /// and the median number of zero-point updates.
        struct Optimizer: Codable {
            let rtnError: Double
            let hqqError: Double
            let gain: Double
            let iterations: Int

            enum CodingKeys: String, CodingKey { case rtnError = "rtn_error", hqqError = "hqq_error", gain, iterations }
        }

        /// One group size at one bit width: relative error with a zero-point (HQQ) and symmetric, and bits per
        /// weight with 8-bit and fp16 scales.
        struct Group: Codable {
            let asym: Double
            let sym: Double
            let bits: Double
            let bitsF16: Double

            enum CodingKeys: String, CodingKey { case asym, sym, bits, bitsF16 = "bits_f16" }
        }

        /// One Table 1 cell: perplexity, its change from fp32 with the 95 % interval (NaN for fp32 itself), MiB of
        /// the toy model, bits per weight, GB for Mixtral-8x7B at these precisions.
        struct Cell: Codable {
            let ppl: Double
            let delta: Double
            let low: Double
            let high: Double
            let mib: Double
            let bits: Double
            let gb: Double
        }

        /// One Table 2 machine at hqq2 experts: tokens/s of each algorithm, LRU's decode hit rate, the share of
        /// prefetches used, one expert copied and one computed by the host CPU (ms).
        /// The paper's own Table 2 figures for the machine (`paper_…`, hqq2 column) and the time per token the
        /// simulation does not charge (`PaperTable2.unchargedMs`).
        struct Machine: Codable {
            let full: Double
            let noPrefetch: Double
            let noCache: Double
            let naive: Double
            let cpu: Double
            let cheaper: Double
            let hit: Double
            let paperFull: Double
            let paperNoPrefetch: Double
            let paperNoCache: Double
            let paperNaive: Double
            let unchargedMs: Double
            let useful: Double
            let copyMs: Double
            let hostMs: Double

            enum CodingKeys: String, CodingKey {
                case full, noPrefetch = "no_prefetch", noCache = "no_cache", naive, cpu, cheaper, hit, paperFull = "paper_full",
                     paperNoPrefetch = "paper_no_prefetch", paperNoCache = "paper_no_cache", paperNaive = "paper_naive",
                     unchargedMs = "uncharged_ms", useful, copyMs = "copy_ms", hostMs = "host_ms"
            }
        }

        /// Percent perplexity increase of attention 4-bit + experts 2-bit: the paper's (WikiText-2, C4) and ours.
        struct RecipeCost: Codable {
            let wiki2: Double
            let c4: Double
            let ours: Double
        }

        /// Full algorithm ÷ without prefetch: the paper's range over machines and ours.
        struct PrefetchGain: Codable {
            let paper: ValueRange
            let simulated: ValueRange
        }

        /// `cheaper` ÷ cpu-compute and ÷ the full algorithm, over the machines.
        struct CheaperGain: Codable {
            let cpu: ValueRange
            let full: ValueRange
        }

        /// What was quantized, in words.
        let weights: String
        /// Per bit width (`b4`, `b3`, `b2`) and Markdown.
        let bits: [String: Optimizer]
        let optimizer: String
        /// Per group size and bit width (`g16_b2`) and Markdown.
        let groupSizes: [String: Group]
        let groups: String
        /// Table 1 as text, its held-out tokens and windows, per cell (`a_hqq4_e_hqq2`).
        let table1: String
        let paperRecipe: RecipeCost
        /// The paper's GB ÷ ours over Table 1's cells.
        let paperSizes: ValueRange
        let tokens: Int
        let windows: Int
        let cells: [String: Cell]
        /// Table 2 as text, decode tokens, per machine (`a100`, `rtx3080`, `rtx3060`, `t4`).
        let table2: String
        let table2Tokens: Int
        let machines: [String: Machine]
        let prefetchGain: PrefetchGain
        let cheaperGain: CheaperGain
        /// Where cpu-compute beats the full algorithm; what prefetch does to the T4's LRU speed.
        let cpuVerdict: String
        let t4Prefetch: String
        let chartPerplexityVsSize: ChartFile

        enum CodingKeys: String, CodingKey {
            case weights, bits, optimizer, groupSizes = "group_sizes", groups, table1, paperRecipe = "paper_recipe",
                 paperSizes = "paper_sizes", tokens, windows, cells, table2, table2Tokens = "table2_tokens", machines,
                 prefetchGain = "prefetch_gain", cheaperGain = "cheaper_gain", cpuVerdict = "cpu_verdict", t4Prefetch = "t4_prefetch",
                 chartPerplexityVsSize = "chart_perplexity_vs_size"
        }
    }

    let layer: Int
    let experts: Int
    let heldoutTokens: Int
    let decodeTokens: Int

    init(_ parameters: ExperimentParameters) throws {
        layer = parameters.int("layer")
        experts = parameters.int("experts")
        heldoutTokens = parameters.int("heldout_tokens")
        decodeTokens = parameters.int("decode_tokens")
        guard decodeTokens >= 1 else { throw ExperimentParameterError.invalid("decode_tokens", reason: "must be at least 1") }
    }

    func run(in lab: LabContext) throws -> Result {
        let config = lab.checkpoint.config
        guard (0..<config.numHiddenLayers).contains(layer) else {
            throw ExperimentParameterError.invalid("layer", reason: "the model has layers 0…\(config.numHiddenLayers - 1)")
        }
        guard (1...config.numExperts).contains(experts) else {
            throw ExperimentParameterError.invalid("experts", reason: "the model has \(config.numExperts) experts per layer")
        }
        // every expert projection of the layer, each quantized as its own tensor
        var weights: [Matrix] = []
        for e in 0..<experts {
            for (projection, rows, cols) in [("w1", config.intermediateSize, config.hiddenSize),
                                             ("w3", config.intermediateSize, config.hiddenSize),
                                             ("w2", config.hiddenSize, config.intermediateSize)] {
                weights.append(try lab.checkpoint.matrix("model.layers.\(layer).block_sparse_moe.experts.\(e).\(projection).weight",
                                                         rows: rows, cols: cols))
            }
        }
        var byBits: [String: Result.Optimizer] = [:]
        var byGroup: [String: Result.Group] = [:]
        var cells: [String: Result.Cell] = [:]
        var machines: [String: Result.Machine] = [:]

        // 1. the optimizer: mean |W − Ŵ| (what its early stop watches) with and without it
        var optimizer = MarkdownTable(["bits, group", "round-to-nearest: mean |error|", "HQQ: mean |error|", "change", "zero-point updates (median)"])
        for bits in Self.optimizerBits {
            let group = HQQ.Settings.paper(bits: bits).groupSize
            var rtn = 0.0, hqq = 0.0, count = 0.0
            var iterations: [Int] = []
            for w in weights {
                rtn += absoluteError(w, HQQ.quantize(w.values, bits: bits, groupSize: group, optimize: false), group)
                let optimized = HQQ.quantize(w.values, bits: bits, groupSize: group)
                hqq += absoluteError(w, optimized, group)
                iterations.append(optimized.iterations)
                count += Double(w.values.count)
            }
            let gain = 100 * (hqq - rtn) / rtn
            let median = iterations.sorted()[iterations.count / 2]
            byBits["b\(bits)"] = Result.Optimizer(rtnError: rtn / count, hqqError: hqq / count, gain: gain, iterations: median)
            optimizer.rows.append(["\(bits)-bit, \(group)", String(format: "%.3e", rtn / count), String(format: "%.3e", hqq / count),
                                   String(format: "%+.1f%%", gain), "\(median)"])
        }

        // 2. group size and the zero-point at 2 and 3 bits: relative error ‖W − Ŵ‖/‖W‖
        var groups = MarkdownTable(["bits", "group", "with zero-point (HQQ)", "symmetric, no zero-point", "bits/weight (8-bit scales)", "bits/weight (fp16 scales)"])
        for bits in Self.groupBits {
            for group in Self.groupSizes {
                var signal = 0.0, asymmetric = 0.0, symmetric = 0.0
                for w in weights {
                    let hqq = HQQ.quantize(w.values, bits: bits, groupSize: group)
                    for (i, x) in w.values.enumerated() {
                        let g = i / group
                        let a = (Float(hqq.codes[i]) - hqq.zeros[g]) * hqq.scales[g]
                        asymmetric += Double(x - a) * Double(x - a)
                        signal += Double(x) * Double(x)
                    }
                    symmetric += symmetricSquaredError(w.values, bits: bits, groupSize: group)
                }
                let quantized = HQQ.Settings(bits: bits, groupSize: group, scaleGroupSize: 128).nominalBitsPerWeight
                let half = HQQ.Settings(bits: bits, groupSize: group, scaleGroupSize: nil).nominalBitsPerWeight
                let asym = (asymmetric / signal).squareRoot(), sym = (symmetric / signal).squareRoot()
                byGroup["g\(group)_b\(bits)"] = Result.Group(asym: asym, sym: sym, bits: quantized, bitsF16: half)
                groups.rows.append(["\(bits)", "\(group)", String(format: "%.3f", asym), String(format: "%.3f", sym),
                                    String(format: "%.2f", quantized), String(format: "%.2f", half)])
            }
        }

        // 3. Table 1
        let table = try PaperTable1.measure(in: lab, heldoutTokens: heldoutTokens)
        for row in table.cells + table.references {
            cells[Self.cellKey(row.attention, row.experts)] = Result.Cell(
                ppl: row.perplexity, delta: row.deltaPerplexity, low: row.deltaLow ?? Double.nan,
                high: row.deltaHigh ?? Double.nan, mib: Double(row.bytes) / 1_048_576, bits: row.bitsPerWeight,
                gb: row.mixtralGB)
        }
        // 4. Table 2, simulated
        let table2 = try PaperTable2.measure(in: lab, promptTokens: 32, decodeTokens: decodeTokens)
        let footprint = ModelFootprint(config: MixtralShapes.mixtral8x7B,
                                       precision: PrecisionSpec([.attention: .hqq4, .experts: .hqq2, .router: .f16, .embedding: .f16, .head: .f16]))
        var faster: [String] = [], slower: [String] = []
        for (key, (hardware, _)) in zip(Self.machineKeys, PaperTable2.machines) {
            func speed(_ a: PaperTable2.Algorithm) -> Double { table2.tokensPerSecond(machine: hardware.name, experts: .hqq2, a) ?? .nan }
            let cost = CostModel(hardware: hardware, footprint: footprint)
            let lru = table2.rows.first { $0.machine == hardware.name && $0.experts == "hqq2" && $0.algorithm == .noPrefetch }
            let full = table2.rows.first { $0.machine == hardware.name && $0.experts == "hqq2" && $0.algorithm == .full }
            func paper(_ a: PaperFigures.Table2Algorithm) -> Double { PaperFigures.tokensPerSecond(experts: "hqq2", machine: hardware.name, a) ?? .nan }
            let noCache = table2.rows.first { $0.machine == hardware.name && $0.experts == "hqq2" && $0.algorithm == .noCache }
            machines[key] = Result.Machine(full: speed(.full), noPrefetch: speed(.noPrefetch), noCache: speed(.noCache),
                                           naive: speed(.naive), cpu: speed(.cpuCompute), cheaper: speed(.cheaper),
                                           hit: lru?.decodeHitRate ?? Double.nan, paperFull: paper(.full),
                                           paperNoPrefetch: paper(.noPrefetch), paperNoCache: paper(.noCache), paperNaive: paper(.naive),
                                           unchargedMs: noCache.flatMap { PaperTable2.unchargedMs(noCache: $0, cost: cost, footprint: footprint) } ?? Double.nan,
                                           useful: full?.usefulPrefetches ?? Double.nan,
                                           copyMs: cost.transferUs(bytes: footprint.largestExpertBytes) / 1000,
                                           hostMs: (cost.hostExpertUs(layer: 0, expert: 0, rows: 1) ?? .nan) / 1000)
            if speed(.cpuCompute) > speed(.full) { faster.append(hardware.name) } else { slower.append(hardware.name) }
        }
        let cpuVerdict: String
        switch (faster.isEmpty, slower.isEmpty) {
        case (false, false):
            cpuVerdict = "cpu-compute beats the paper's full algorithm on \(faster.joined(separator: ", ")) and loses on \(slower.joined(separator: ", "))"
        case (false, true): cpuVerdict = "cpu-compute beats the paper's full algorithm on all four machines"
        default: cpuVerdict = "cpu-compute loses to the paper's full algorithm on all four machines"
        }
        let gains = table2.prefetchGains
        let overCPU = table2.cheaperGain(over: .cpuCompute), overFull = table2.cheaperGain(over: .full)
        let t4Full = table2.tokensPerSecond(machine: HardwareProfile.colabT4.name, experts: .hqq2, .full) ?? .nan
        let t4LRU = table2.tokensPerSecond(machine: HardwareProfile.colabT4.name, experts: .hqq2, .noPrefetch) ?? .nan
        let t4Prefetch = t4Full > t4LRU * 1.005 ? "raises it to" : t4Full < t4LRU * 0.995 ? "lowers it to" : "leaves it at"

        let chart = table.chart(metadata: lab.metadata(
            title: "The paper's Table 1 on \(table.modelName): perplexity against size",
            description: "Held-out perplexity against weight bytes, attention and experts at fp32, hqq4, hqq3, hqq2."))
        return Result(
            weights: "the \(weights.count) projections of experts 0…\(experts - 1) of layer \(layer)", bits: byBits,
            optimizer: optimizer.description, groupSizes: byGroup, groups: groups.description, table1: table.text,
            paperRecipe: Result.RecipeCost(wiki2: 100 * table.recipeCost.paperWiki2, c4: 100 * table.recipeCost.paperC4,
                                           ours: 100 * table.recipeCost.ours),
            paperSizes: ValueRange(table.sizeAgreement),
            tokens: table.tokens, windows: table.windows, cells: cells, table2: table2.text, table2Tokens: table2.decodeTokens,
            machines: machines,
            prefetchGain: Result.PrefetchGain(paper: ValueRange(gains.paper), simulated: ValueRange(gains.simulated)),
            cheaperGain: Result.CheaperGain(cpu: ValueRange(overCPU), full: ValueRange(overFull)),
            cpuVerdict: cpuVerdict, t4Prefetch: t4Prefetch,
            chartPerplexityVsSize: try lab.write(chart, file: "perplexity-vs-size.png",
                                                 caption: "Perplexity against model size, one point per Table 1 cell (differences within the table's 95% intervals are noise)"))
    }

    /// `Σ|W − Ŵ|` of HQQ groups of one weight.
    private func absoluteError(_ w: Matrix, _ q: HQQ.Groups, _ group: Int) -> Double {
        var sum = 0.0
        for (i, x) in w.values.enumerated() {
            let g = i / group
            sum += Double(abs(x - (Float(q.codes[i]) - q.zeros[g]) * q.scales[g]))
        }
        return sum
    }

    /// `Σ(W − Ŵ)²` of a symmetric quantizer without zero-point: per group the levels
    /// `(k − (2^bits − 1)/2) · d`, k = 0…2^bits − 1, symmetric about 0, with `d` such that the outermost
    /// levels are ±absmax; each weight to its nearest level.
    private func symmetricSquaredError(_ values: [Float], bits: Int, groupSize: Int) -> Double {
        let half = Float((1 << bits) - 1) / 2
        var sum = 0.0
        for start in stride(from: 0, to: values.count, by: groupSize) {
            let group = values[start..<(start + groupSize)]
            let absmax = group.map(abs).max() ?? 0
            let d = absmax / half
            for x in group {
                let level = d == 0 ? 0 : (min(max((x / d + half).rounded(), 0), 2 * half) - half) * d
                sum += Double(x - level) * Double(x - level)
            }
        }
        return sum
    }
}
