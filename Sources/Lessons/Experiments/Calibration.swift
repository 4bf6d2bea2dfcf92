import Foundation
import Engine
import Quantization
import Tensors
import Checkpoints
import Charts
import Reports

/// Lesson 11's experiment: AWQ and GPTQ in miniature. The experts of the default model (the rest fp32) are
/// quantized on one b-bit grid (`BlockGrid`, Q4_0's rule) by round-to-nearest, AWQ and GPTQ, the last two
/// calibrated on the first `n` tokens of a stretch of held-out text that the evaluation never sees (the end
/// of `heldout.txt`; the evaluation uses its beginning). Each variant is measured on the evaluation text
/// against fp32: output SNR of every expert projection `W·x` on the fp32 model's own inputs, mean KL of the
/// next-token distributions and Δ perplexity — each with a 95 % bootstrap interval over 64-token chunks.
///
/// Simplifications, stated in the lesson: the calibration inputs of every projection are recorded once from
/// the fp32 model (GPTQ and AutoAWQ re-record each layer's inputs after quantizing the layers before it);
/// the quantized weights are decoded back to fp32 to compute (no 3-bit kernel here), so memory is the grid's
/// nominal `bits + 0.5` per weight, not measured.
struct CalibrationExperiment: Experiment {
    static let name = "calibration"
    static let summary = "Round-to-nearest vs AWQ vs GPTQ on the experts at several bit widths, by calibration-set size: output SNR, KL, perplexity with intervals."
    /// It loads the model at fp32 and quantizes the experts itself, not at `--precision`.
    static let modelUse: ModelUse = .loadsModel
    static let parameters = [
        ParameterSpec("bits", .list, "bit widths of the grid", default: [4, 3]),
        ParameterSpec("calibration_tokens", .list, "calibration-set sizes to sweep (tokens, 16 … 4096)", default: [16, 256, 4096]),
        ParameterSpec("eval_tokens", .int, "held-out tokens for SNR, KL and perplexity", default: 2048),
    ]
    static func variableKeys(_ parameters: ExperimentParameters) throws -> [String: [String]] {
        let experiment = try Self(parameters)
        var keys = ["bits": experiment.bits.map { "b\($0)" },
                    "coverage_by_size": experiment.calibrationSizes.map(String.init)]
        let methods = ["rtn"] + experiment.calibrationSizes.flatMap { ["awq_\($0)", "gptq_\($0)"] }
        for b in experiment.bits { keys["bits.b\(b)"] = methods }
        return keys
    }

    struct Result: Codable {
        /// One method at one bit width (and calibration size) against fp32 on the evaluation tokens, with 95 %
        /// intervals as text: output SNR of W·x, mean KL, Δ perplexity.
        struct Method: Codable {
            let snrDB: Double
            let snrCI: String
            let kl: Double
            let klCI: String
            let deltaPpl: Double
            let deltaPplCI: String

            enum CodingKeys: String, CodingKey {
                case snrDB = "snr_db", snrCI = "snr_ci", kl, klCI = "kl_ci", deltaPpl = "delta_ppl", deltaPplCI = "delta_ppl_ci"
            }
        }

        /// How many calibration tokens the experts saw: experts with none, with fewer than the input features
        /// (a rank-deficient GPTQ Hessian), with at least that many; all experts; the median count.
        struct Coverage: Codable {
            let none: Int
            let deficient: Int
            let full: Int
            let experts: Int
            let median: Int
        }

        let evalTokens: Int
        /// Where the calibration tokens start in the held-out text.
        let calibrationOffset: Int
        /// Largest and smallest calibration set.
        let largest: Int
        let smallest: Int
        /// Per bit width (`b4`, `b3`): per method (`rtn`, `awq_N`, `gptq_N` for N calibration tokens).
        let bits: [String: [String: Method]]
        /// Per calibration size (`16`, `256`, …).
        let coverageBySize: [String: Coverage]
        /// Markdown: experts' calibration coverage; every method.
        let coverage: String
        let table: String
        let verdicts: String
        let needs: String
        let chartCalibration: ChartFile

        enum CodingKeys: String, CodingKey {
            case evalTokens = "eval_tokens", calibrationOffset = "calibration_offset", largest, smallest, bits,
                 coverageBySize = "coverage_by_size", coverage, table, verdicts, needs, chartCalibration = "chart_calibration"
        }
    }

    let bits: [Int]
    let calibrationSizes: [Int]
    let evalTokens: Int

    init(_ parameters: ExperimentParameters) throws {
        bits = try parameters.list("bits").map { text in
            guard let b = Int(text), (2...8).contains(b) else { throw ExperimentParameterError.invalid("bits", reason: "\(text) is not 2…8") }
            return b
        }
        calibrationSizes = try parameters.list("calibration_tokens").map { text in
            guard let n = Int(text), (1...65536).contains(n) else { throw ExperimentParameterError.invalid("calibration_tokens", reason: "\(text) is not 1…65536") }
            return n
        }.sorted()
        evalTokens = parameters.int("eval_tokens")
        guard evalTokens >= 128 else { throw ExperimentParameterError.invalid("eval_tokens", reason: "must be at least 128") }
        guard !bits.isEmpty, !calibrationSizes.isEmpty else { throw ExperimentParameterError.invalid("bits", reason: "give at least one bit width and one calibration size") }
    }

    func run(in lab: LabContext) throws -> Result {
        let model = try lab.model(PrecisionSpec(uniform: .fp32))
        let c = model.config
        let all = try lab.heldoutTokens()
        let calibrationStart = all.count - calibrationSizes.max()!
        guard calibrationStart >= evalTokens else {
            throw ExperimentParameterError.invalid("calibration_tokens", reason: "the held-out text has \(all.count) tokens: \(evalTokens) for evaluation and \(calibrationSizes.max()!) for calibration do not fit without overlap")
        }
        let window = min(256, c.maxPositionEmbeddings)
        let evalWindows = Perplexity.windows(of: Array(all.prefix(evalTokens)), length: window, bos: c.bosTokenID)
        lab.progress("running fp32 on \(evalTokens) evaluation tokens")
        let reference = try HeldoutReference(model: model, windows: evalWindows)
        let evalInputs = try ExpertCalibrationInputs(model: model, windows: evalWindows)

        var byBits: [String: [String: Result.Method]] = [:]
        var coverageBySize: [String: Result.Coverage] = [:]
        var table = MarkdownTable(["method", "bits", "calibration tokens", "output SNR of W·x (dB) [95 %]", "mean KL vs fp32 (nats) [95 %]",
                                   "Δ perplexity [95 %]"])
        var verdicts: [String] = [], needs: [String] = []
        // Each calibration set's inputs, recorded once for every bit width.
        var calibrations: [ExpertCalibrationInputs] = []
        for size in calibrationSizes {
            lab.progress("recording expert inputs on \(size) calibration tokens")
            let windows = Perplexity.windows(of: Array(all[calibrationStart..<(calibrationStart + size)]), length: window, bos: c.bosTokenID)
            calibrations.append(try ExpertCalibrationInputs(model: model, windows: windows))
        }
        // How many calibration tokens each expert sees: GPTQ's H = 2XᵀX/n has rank ≤ the expert's token count, so an
        // expert with fewer tokens than input features gets a rank-deficient H (only the 1 % dampening in the
        // other directions), and one with none is left at round-to-nearest.
        var coverage = MarkdownTable(["calibration tokens", "experts with no token", "with fewer tokens than the \(c.hiddenSize) input features of w1/w3",
                                      "with at least \(c.hiddenSize)", "median tokens per expert"])
        for (size, calibration) in zip(calibrationSizes, calibrations) {
            let counts = calibration.x.flatMap { $0.map(\.rows) }.sorted()
            let none = counts.filter { $0 == 0 }.count, full = counts.filter { $0 >= c.hiddenSize }.count
            coverageBySize["\(size)"] = Result.Coverage(none: none, deficient: counts.count - none - full, full: full,
                                                        experts: counts.count, median: counts[counts.count / 2])
            coverage.rows.append(["\(size)", "\(none) of \(counts.count)", "\(counts.count - none - full)", "\(full)", "\(counts[counts.count / 2])"])
        }
        var series: [LineSeries] = []
        for b in bits {
            let grid = BlockGrid(bits: b)
            var perBits: [String: Result.Method] = [:]
            func measure(_ label: String, _ key: String, _ calibration: String, _ experts: [[ExpertWeights]]) throws -> HeldoutComparison {
                let quantized = model.replacingExperts(experts)
                let comparison = try HeldoutComparison(reference: reference, candidate: quantized)
                let snr = evalInputs.outputSNR(reference: model, candidate: experts)
                perBits[key] = Result.Method(snrDB: snr.value, snrCI: snr.interval.formatted("%.1f"), kl: comparison.meanKL.value,
                                             klCI: comparison.meanKL.interval.formatted("%.4f"), deltaPpl: comparison.deltaPerplexity.value,
                                             deltaPplCI: comparison.deltaPerplexity.interval.formatted("%+.3f"))
                table.rows.append([label, "\(b)", calibration, snr.formatted("%.1f"), comparison.meanKL.formatted("%.4f"),
                                   comparison.deltaPerplexity.formatted("%+.3f")])
                return comparison
            }
            lab.progress("round-to-nearest at \(b) bits")
            let rtnExperts = model.layers.map { layer in layer.experts.map { e in
                ExpertWeights(w1: grid.roundToNearest(e.w1.dequantized()), w2: grid.roundToNearest(e.w2.dequantized()),
                              w3: grid.roundToNearest(e.w3.dequantized()))
            } }
            let rtn = try measure("round-to-nearest", "rtn", "—", rtnExperts)
            var awqKL: [Double] = [], gptqKL: [Double] = [], awqLast: HeldoutComparison?, gptqLast: HeldoutComparison?
            var awqBars: [ClosedRange<Double>] = [], gptqBars: [ClosedRange<Double>] = []
            // The smallest calibration set at which each method's KL is below round-to-nearest's, the paired interval excluding 0.
            var firstBetter: [String: Int] = [:]
            for (size, calibration) in zip(calibrationSizes, calibrations) {
                lab.progress("AWQ and GPTQ at \(b) bits on \(size) calibration tokens")
                let awqExperts = calibration.quantize(model) { w, x in AWQ.quantize(w, inputs: x, grid: grid).weight }
                let gptqExperts = calibration.quantize(model) { w, x in GPTQ.quantize(w, inputs: x, grid: grid) }
                awqLast = try measure("AWQ", "awq_\(size)", "\(size)", awqExperts)
                gptqLast = try measure("GPTQ", "gptq_\(size)", "\(size)", gptqExperts)
                awqKL.append(awqLast!.meanKL.value)
                gptqKL.append(gptqLast!.meanKL.value)
                awqBars.append(awqLast!.meanKL.interval.low...awqLast!.meanKL.interval.high)
                gptqBars.append(gptqLast!.meanKL.interval.low...gptqLast!.meanKL.interval.high)
                for (name, comparison) in [("AWQ", awqLast!), ("GPTQ", gptqLast!)] where firstBetter[name] == nil {
                    let gain = HeldoutComparison.klDifference(rtn, comparison)
                    if gain.value > 0 && !gain.includesZero { firstBetter[name] = size }
                }
            }
            let x = calibrationSizes.map(Double.init)
            series.append(LineSeries(name: "round-to-nearest, \(b) bits", x: [x.first!, x.last!], y: [rtn.meanKL.value, rtn.meanKL.value]))
            series.append(LineSeries(name: "AWQ, \(b) bits", x: x, y: awqKL, yIntervals: awqBars))
            series.append(LineSeries(name: "GPTQ, \(b) bits", x: x, y: gptqKL, yIntervals: gptqBars))
            for name in ["AWQ", "GPTQ"] {
                needs.append(firstBetter[name].map { "\(name) at \(b) bits from \($0) tokens" }
                             ?? "\(name) at \(b) bits at none of the sizes tried")
            }
            // The verdict at the largest calibration set: a paired KL difference against round-to-nearest.
            for (name, last) in [("AWQ", awqLast!), ("GPTQ", gptqLast!)] {
                let difference = HeldoutComparison.klDifference(rtn, last)
                verdicts.append(difference.includesZero
                    ? "at \(b) bits \(name) cannot be told apart from round-to-nearest (KL difference \(difference.formatted("%+.5f")))"
                    : "at \(b) bits \(name) \(difference.value > 0 ? "lowers" : "raises") KL by \(String(format: "%.4f", abs(difference.value))) nats (\(String(format: "%.0f", abs(difference.value) / rtn.meanKL.value * 100)) % of round-to-nearest's; paired interval \(difference.interval.formatted("%+.5f")))")
            }
            byBits["b\(b)"] = perBits
        }
        let chart = LineChart(
            metadata: lab.metadata(title: "Expert quantization error against calibration-set size",
                                   description: "Mean KL of next-token distributions from fp32's on \(reference.tokens) held-out tokens, experts quantized by round-to-nearest (flat), AWQ and GPTQ calibrated on n tokens of other held-out text; bars are 95 % bootstrap intervals."),
            series: series, xLabel: "calibration tokens (log scale)", yLabel: "mean KL vs fp32 (nats; lower is better)", logX: true, logY: true)
        return Result(evalTokens: reference.tokens, calibrationOffset: calibrationStart, largest: calibrationSizes.max()!,
                      smallest: calibrationSizes.min()!, bits: byBits, coverageBySize: coverageBySize, coverage: coverage.description,
                      table: table.description, verdicts: verdicts.joined(separator: "; "), needs: needs.joined(separator: "; "),
                      chartCalibration: try lab.write(chart, file: "calibration.png", caption: "KL against calibration-set size, per method and bit width"))
    }
}
