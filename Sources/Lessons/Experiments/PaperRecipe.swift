import Foundation
import Tensors
import Quantization
import Offloading

/// Lesson 10's experiment, the paper's recipe: what HQQ's optimizer buys over round-to-nearest on the
/// model's expert weights, what group size and the zero-point do at 2 and 3 bits, and Table 1
/// (`PaperTable1`) on the model.
struct PaperRecipeExperiment: Experiment {
    static let name = "paper-recipe"
    static let summary = "HQQ against round-to-nearest, group size and zero-points at 2 and 3 bits, and the paper's Table 1."
    static let parameters = [
        ParameterSpec("layer", .int, "layer whose expert weights are measured", default: 0),
        ParameterSpec("experts", .int, "how many of the layer's experts (from expert 0) are measured", default: 2),
        ParameterSpec("heldout_tokens", .int, "held-out tokens per model for Table 1", default: 2048),
        ParameterSpec("decode_tokens", .int, "tokens decoded for Table 2's routing (after a 32-token held-out prompt)", default: 64),
    ]
    /// `optimizer` (table), `groups` (table), `table1` (table), `tokens`, `windows`; per bit width
    /// `b2`/`b3`/`b4`: `rtn_error`, `hqq_error`, `gain` (percent), `iterations`; `g16_b2`… per group size and
    /// bit width: `asym`, `sym`, `bits`, `bits_f16`; per Table 1 cell `a_<attn>_e_<experts>`: `ppl`,
    /// `delta`, `low`, `high`, `mib`, `bits`, `gb`; `table2` (table), `table2_tokens`; per machine `t4`, `rtx3060`,
    /// `rtx3080`, `a100` at hqq2 experts: `full`, `no_prefetch`, `no_cache`, `naive`, `cpu` (tokens/s), `hit`
    /// (LRU's decode hit rate), `useful` (prefetched experts used by their step / prefetched), `copy_ms`, `host_ms` (one expert copied, or computed by the host CPU);
    /// per machine also `cheaper` (tokens/s), `paper_full`, `paper_no_prefetch`, `paper_no_cache`, `paper_naive` (the
    /// paper's Table 2, hqq2 column), `uncharged_ms` (`PaperTable2.unchargedMs`); `paper_recipe` (`wiki2`, `c4`,
    /// `ours`: percent perplexity increase of attention 4-bit + experts 2-bit), `paper_sizes` (`low`, `high`: the
    /// paper's GB ÷ ours), `prefetch_gain` (`paper_low/high`, `sim_low/high`: full ÷ without prefetch),
    /// `cheaper_gain` (`cpu_low/high`, `full_low/high`: cheaper ÷ cpu-compute, ÷ full algorithm);
    /// `cpu_verdict` (a sentence: where cpu-compute beats the full algorithm), `t4_prefetch` (what prefetch does
    /// to the T4's LRU speed: "raises it to", "lowers it to", "leaves it at").
    static let resultKeys = ["optimizer", "groups", "table1", "tokens", "windows", "weights", "table2", "table2_tokens",
                             "cpu_verdict", "t4_prefetch", "paper_recipe", "paper_sizes", "prefetch_gain", "cheaper_gain", "*"]

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

    func run(in lab: LabContext) throws -> ExperimentResult {
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
        var values: [String: Any] = ["weights": "the \(weights.count) projections of experts 0…\(experts - 1) of layer \(layer)"]

        // 1. the optimizer: mean |W − Ŵ| (what its early stop watches) with and without it
        var optimizer = MarkdownTable(["bits, group", "round-to-nearest: mean |error|", "HQQ: mean |error|", "change", "zero-point updates (median)"])
        for bits in [4, 3, 2] {
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
            values["b\(bits)"] = ["rtn_error": rtn / count, "hqq_error": hqq / count, "gain": gain, "iterations": median]
            optimizer.rows.append(["\(bits)-bit, \(group)", String(format: "%.3e", rtn / count), String(format: "%.3e", hqq / count),
                                   String(format: "%+.1f%%", gain), "\(median)"])
        }
        values["optimizer"] = optimizer.description

        // 2. group size and the zero-point at 2 and 3 bits: relative error ‖W − Ŵ‖/‖W‖
        var groups = MarkdownTable(["bits", "group", "with zero-point (HQQ)", "symmetric, no zero-point", "bits/weight (8-bit scales)", "bits/weight (fp16 scales)"])
        for bits in [3, 2] {
            for group in [16, 32, 64, 128] {
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
                values["g\(group)_b\(bits)"] = ["asym": asym, "sym": sym, "bits": quantized, "bits_f16": half]
                groups.rows.append(["\(bits)", "\(group)", String(format: "%.3f", asym), String(format: "%.3f", sym),
                                    String(format: "%.2f", quantized), String(format: "%.2f", half)])
            }
        }
        values["groups"] = groups.description

        // 3. Table 1
        let table = try PaperTable1.measure(in: lab, heldoutTokens: heldoutTokens)
        values["table1"] = table.text
        let recipe = table.recipeCost
        values["paper_recipe"] = ["wiki2": 100 * recipe.paperWiki2, "c4": 100 * recipe.paperC4, "ours": 100 * recipe.ours]
        values["paper_sizes"] = ["low": table.sizeAgreement.lowerBound, "high": table.sizeAgreement.upperBound]
        values["tokens"] = table.tokens
        values["windows"] = table.windows
        for row in table.cells + table.references {
            values["a_\(row.attention)_e_\(row.experts)"] = [
                "ppl": row.perplexity, "delta": row.deltaPerplexity, "low": row.deltaLow ?? Double.nan,
                "high": row.deltaHigh ?? Double.nan, "mib": Double(row.bytes) / 1_048_576, "bits": row.bitsPerWeight,
                "gb": row.mixtralGB,
            ]
        }
        // 4. Table 2, simulated
        let table2 = try PaperTable2.measure(in: lab, promptTokens: 32, decodeTokens: decodeTokens)
        values["table2"] = table2.text
        values["table2_tokens"] = table2.decodeTokens
        let footprint = ModelFootprint(config: MixtralShapes.mixtral8x7B,
                                       precision: PrecisionSpec([.attention: .hqq4, .experts: .hqq2, .router: .f16, .embedding: .f16, .head: .f16]))
        var faster: [String] = [], slower: [String] = []
        for (key, (hardware, _)) in zip(["a100", "rtx3080", "rtx3060", "t4"], PaperTable2.machines) {
            func speed(_ a: PaperTable2.Algorithm) -> Double { table2.tokensPerSecond(machine: hardware.name, experts: .hqq2, a) ?? .nan }
            let cost = CostModel(hardware: hardware, footprint: footprint)
            let lru = table2.rows.first { $0.machine == hardware.name && $0.experts == "hqq2" && $0.algorithm == .noPrefetch }
            let full = table2.rows.first { $0.machine == hardware.name && $0.experts == "hqq2" && $0.algorithm == .full }
            func paper(_ a: PaperFigures.Table2Algorithm) -> Double { PaperFigures.tokensPerSecond(experts: "hqq2", machine: hardware.name, a) ?? .nan }
            let noCache = table2.rows.first { $0.machine == hardware.name && $0.experts == "hqq2" && $0.algorithm == .noCache }
            values[key] = ["full": speed(.full), "no_prefetch": speed(.noPrefetch), "no_cache": speed(.noCache), "naive": speed(.naive),
                           "cpu": speed(.cpuCompute), "cheaper": speed(.cheaper), "hit": lru?.decodeHitRate ?? Double.nan,
                           "paper_full": paper(.full), "paper_no_prefetch": paper(.noPrefetch), "paper_no_cache": paper(.noCache),
                           "paper_naive": paper(.naive),
                           "uncharged_ms": noCache.flatMap { PaperTable2.unchargedMs(noCache: $0, cost: cost, footprint: footprint) } ?? Double.nan,
                           "useful": full?.usefulPrefetches ?? Double.nan,
                           "copy_ms": cost.transferUs(bytes: footprint.largestExpertBytes) / 1000,
                           "host_ms": (cost.hostExpertUs(layer: 0, expert: 0, rows: 1) ?? .nan) / 1000]
            if speed(.cpuCompute) > speed(.full) { faster.append(hardware.name) } else { slower.append(hardware.name) }
        }
        switch (faster.isEmpty, slower.isEmpty) {
        case (false, false):
            values["cpu_verdict"] = "cpu-compute beats the paper's full algorithm on \(faster.joined(separator: ", ")) and loses on \(slower.joined(separator: ", "))"
        case (false, true): values["cpu_verdict"] = "cpu-compute beats the paper's full algorithm on all four machines"
        default: values["cpu_verdict"] = "cpu-compute loses to the paper's full algorithm on all four machines"
        }
        let gains = table2.prefetchGains
        values["prefetch_gain"] = ["paper_low": gains.paper.lowerBound, "paper_high": gains.paper.upperBound,
                                   "sim_low": gains.simulated.lowerBound, "sim_high": gains.simulated.upperBound]
        let overCPU = table2.cheaperGain(over: .cpuCompute), overFull = table2.cheaperGain(over: .full)
        values["cheaper_gain"] = ["cpu_low": overCPU.lowerBound, "cpu_high": overCPU.upperBound,
                                  "full_low": overFull.lowerBound, "full_high": overFull.upperBound]
        let t4Full = table2.tokensPerSecond(machine: HardwareProfile.colabT4.name, experts: .hqq2, .full) ?? .nan
        let t4LRU = table2.tokensPerSecond(machine: HardwareProfile.colabT4.name, experts: .hqq2, .noPrefetch) ?? .nan
        values["t4_prefetch"] = t4Full > t4LRU * 1.005 ? "raises it to" : t4Full < t4LRU * 0.995 ? "lowers it to" : "leaves it at"

        let chart = table.chart(metadata: lab.metadata(
            title: "The paper's Table 1 on \(table.modelName): perplexity against size",
            description: "Held-out perplexity against weight bytes, attention and experts at fp32, hqq4, hqq3, hqq2."))
        return ExperimentResult(values: values, charts: [
            try lab.write(chart, file: "perplexity-vs-size.png",
                          caption: "Perplexity against model size, one point per Table 1 cell (differences within the table's 95% intervals are noise)"),
        ])
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
