import Foundation
import Engine
import Quantization
import Checkpoints
import Charts
import Reports

/// Lesson 12's experiment: post-training quantization (PTQ: round-to-nearest Q4_0 of the shipped weights)
/// against quantization-aware training (QAT: the experts fine-tuned through the same Q4_0 rounding by
/// `tools/make_qat_model.py`, shipped quantized in `models/shakespeare-mixtral-qat4`), and weight-only
/// quantization against weights *and* activations rounded to 8 bits (`ActivationPrecision.q8`, llama.cpp's
/// Q8_0 rounding of each token's inputs to a quantized product). Only the experts are quantized; the rest stays
/// fp32 (bf16 in both checkpoints, so exact). Every variant is scored against the default model at fp32 on the
/// first `eval_tokens` held-out tokens: mean KL of the next-token distributions, top-1 agreement and
/// perplexity, each with a 95 % bootstrap interval over 64-token chunks (`HeldoutComparison`), and the
/// differences that the lesson states as paired intervals on the same chunks.
struct PTQAgainstQATExperiment: Experiment {
    static let name = "ptq-qat"
    static let summary = "Round-to-nearest (PTQ) against quantization-aware-trained (QAT) 4-bit experts, each with fp32 and 8-bit activations: KL, top-1, perplexity with intervals."
    /// It loads the model at fp32 and with q4/int8 experts, not at `--precision`.
    static let modelUse: ModelUse = .loadsModel
    static let parameters = [
        ParameterSpec("qat_model", .text, "the QAT checkpoint, relative to the repository (made by tools/make_qat_model.py)",
                      default: "models/shakespeare-mixtral-qat4"),
        ParameterSpec("eval_tokens", .int, "held-out tokens for KL, top-1 and perplexity", default: 4096),
    ]
    struct Result: Codable {
        /// One variant of the experts against fp32 on the held-out text, intervals as text (95 %, bootstrap over
        /// chunks; top-1's in percent, as "[90.1, 93.4]").
        struct Variant: Codable {
            let kl: Double
            let klCI: String
            let top1: Double
            let top1CI: String
            let ppl: Double
            let deltaPpl: Double
            let deltaPplCI: String

            enum CodingKeys: String, CodingKey {
                case kl, klCI = "kl_ci", top1, top1CI = "top1_ci", ppl, deltaPpl = "delta_ppl", deltaPplCI = "delta_ppl_ci"
            }
        }

        let tokens: Int
        let fp32Ppl: Double
        let qatModel: String
        /// Optimizer steps in the QAT checkpoint's qat.json (0 without one).
        let qatSteps: Int
        /// 4-bit round-to-nearest, 4-bit QAT, 8-bit round-to-nearest; `…A8` with 8-bit activations.
        let ptq4: Variant
        let ptq4A8: Variant
        let qat4: Variant
        let qat4A8: Variant
        let ptq8: Variant
        let ptq8A8: Variant
        /// Paired differences on the same chunks (a − b) and their 95 % intervals as text: KL of round-to-nearest
        /// minus QAT (weight-only, 8-bit activations), the same for perplexity, and what 8-bit activations cost.
        let qatGain: Double
        let qatGainCI: String
        let qatGainA8: Double
        let qatGainA8CI: String
        let qatPplGain: Double
        let qatPplGainCI: String
        let a8Cost4: Double
        let a8Cost4CI: String
        let a8Cost8: Double
        let a8Cost8CI: String
        let a8CostQAT: Double
        let a8CostQATCI: String
        let qatVerdict: String
        let qatPplVerdict: String
        /// Top-1 agreement of round-to-nearest and of QAT, each with its interval, and their paired difference.
        let qatTop1Verdict: String
        let a8Verdict: String
        /// Markdown: every variant.
        let table: String
        let chartPtqQat: ChartFile

        enum CodingKeys: String, CodingKey {
            case tokens, fp32Ppl = "fp32_ppl", qatModel = "qat_model", qatSteps = "qat_steps", ptq4, ptq4A8 = "ptq4_a8", qat4,
                 qat4A8 = "qat4_a8", ptq8, ptq8A8 = "ptq8_a8", qatGain = "qat_gain", qatGainCI = "qat_gain_ci",
                 qatGainA8 = "qat_gain_a8", qatGainA8CI = "qat_gain_a8_ci", qatPplGain = "qat_ppl_gain",
                 qatPplGainCI = "qat_ppl_gain_ci", a8Cost4 = "a8_cost4", a8Cost4CI = "a8_cost4_ci", a8Cost8 = "a8_cost8",
                 a8Cost8CI = "a8_cost8_ci", a8CostQAT = "a8_cost_qat", a8CostQATCI = "a8_cost_qat_ci", qatVerdict = "qat_verdict",
                 qatPplVerdict = "qat_ppl_verdict", qatTop1Verdict = "qat_top1_verdict", a8Verdict = "a8_verdict", table, chartPtqQat = "chart_ptq_qat"
        }
    }

    let qatModel: String
    let evalTokens: Int

    init(_ parameters: ExperimentParameters) throws {
        qatModel = parameters.text("qat_model")
        evalTokens = parameters.int("eval_tokens")
        guard evalTokens >= 128 else { throw ExperimentParameterError.invalid("eval_tokens", reason: "must be at least 128") }
    }

    func run(in lab: LabContext) throws -> Result {
        let windows = try lab.heldoutWindows(limit: evalTokens)
        let fp32 = try lab.model(PrecisionSpec(uniform: .fp32))
        lab.progress("running fp32 on \(evalTokens) held-out tokens")
        let reference = try HeldoutReference(model: fp32, windows: windows)

        let qatFolder: URL
        do { qatFolder = try ProjectFiles.locate(qatModel) } catch {
            throw ExperimentParameterError.invalid("qat_model", reason: "\(qatModel) not found (\(error)); make it with tools/make_qat_model.py")
        }
        let qat = try MixtralModel(checkpoint: Checkpoint(directory: qatFolder), precision: PrecisionSpec(uniform: .fp32))
        guard qat.config.hiddenSize == fp32.config.hiddenSize, qat.config.numHiddenLayers == fp32.config.numHiddenLayers,
              qat.config.numExperts == fp32.config.numExperts, qat.config.vocabSize == fp32.config.vocabSize else {
            throw ExperimentParameterError.invalid("qat_model", reason: "\(qatModel) is not a copy of \(lab.modelName) (its shapes differ)")
        }
        guard qat.heldPrecision()?.precision(for: .experts) == .q4 else {
            throw ExperimentParameterError.invalid("qat_model", reason: "\(qatModel) does not store its experts as q4 (quantize it with --precision bf16,experts=q4)")
        }
        let ptq4 = try lab.model(PrecisionSpec([.experts: .q4]))
        let ptq8 = try lab.model(PrecisionSpec([.experts: .int8]))

        var table = MarkdownTable(["experts", "weights", "activations into the experts", "mean KL vs fp32 (nats) [95 %]",
                                   "top-1 agreement [95 %]", "Δ perplexity [95 %]"])
        var comparisons: [String: HeldoutComparison] = [:]
        var measured: [String: Result.Variant] = [:]
        // one name per method, in every row
        let qatMethod = "QAT (\(Self.trainingSteps(qatFolder).map { "\($0) steps" } ?? "fine-tuned"))"
        let variants: [(key: String, model: MixtralModel, method: String, bits: String, activations: ActivationPrecision)] = [
            ("ptq4", ptq4, "PTQ (round-to-nearest)", "4.5 (q4)", .fp32), ("ptq4_a8", ptq4, "PTQ (round-to-nearest)", "4.5 (q4)", .q8),
            ("qat4", qat, qatMethod, "4.5 (q4)", .fp32), ("qat4_a8", qat, qatMethod, "4.5 (q4)", .q8),
            ("ptq8", ptq8, "PTQ (round-to-nearest)", "8.5 (int8)", .fp32), ("ptq8_a8", ptq8, "PTQ (round-to-nearest)", "8.5 (int8)", .q8),
        ]
        for v in variants {
            lab.progress("\(v.key): \(v.method), activations \(v.activations.rawValue)")
            let c = try ActivationPrecision.$current.withValue(v.activations) {
                try HeldoutComparison(reference: reference, candidate: v.model)
            }
            comparisons[v.key] = c
            measured[v.key] = Result.Variant(kl: c.meanKL.value, klCI: c.meanKL.interval.formatted("%.5f"),
                                             top1: c.top1Agreement.value,
                                             top1CI: String(format: "[%.1f, %.1f]", c.top1Agreement.interval.low * 100, c.top1Agreement.interval.high * 100),
                                             ppl: c.perplexity.value, deltaPpl: c.deltaPerplexity.value,
                                             deltaPplCI: c.deltaPerplexity.interval.formatted("%+.3f"))
            table.rows.append([v.method, v.bits, v.activations == .fp32 ? "fp32 (weight-only, W·A32)" : "rounded to Q8_0 (W·A8)",
                               c.meanKL.formatted("%.5f"),
                               String(format: "%.1f %% [%.1f, %.1f]", c.top1Agreement.value * 100, c.top1Agreement.interval.low * 100,
                                      c.top1Agreement.interval.high * 100),
                               c.deltaPerplexity.formatted("%+.3f")])
        }

        // Paired differences: a − b on the same chunks, and what the lesson may say about each.
        func difference(_ a: String, _ b: String, perplexity: Bool = false) -> (Estimate, ci: String) {
            let d = perplexity ? HeldoutComparison.perplexityDifference(comparisons[a]!, comparisons[b]!)
                               : HeldoutComparison.klDifference(comparisons[a]!, comparisons[b]!)
            return (d, d.interval.formatted(perplexity ? "%+.3f" : "%+.5f"))
        }
        let (gain, gainCI) = difference("ptq4", "qat4")
        let (gainA8, gainA8CI) = difference("ptq4_a8", "qat4_a8")
        let (pplGain, pplGainCI) = difference("ptq4", "qat4", perplexity: true)
        let (cost4, cost4CI) = difference("ptq4_a8", "ptq4")
        let (cost8, cost8CI) = difference("ptq8_a8", "ptq8")
        let (costQAT, costQATCI) = difference("qat4_a8", "qat4")
        let ptqKL = comparisons["ptq4"]!.meanKL.value
        let qatVerdict = gain.includesZero
            ? "QAT's experts cannot be told apart from round-to-nearest's on this text (KL difference \(gain.formatted("%+.5f")))"
            : "QAT's experts \(gain.value > 0 ? "lower" : "raise") the KL from fp32 by \(formatNumber("%.5f", abs(gain.value))) nats, \(String(format: "%.0f", abs(gain.value) / ptqKL * 100)) % of round-to-nearest's (paired interval \(gain.formatted("%+.5f"))); with 8-bit activations too the difference is \(gainA8.formatted("%+.5f"))"
        let qatDelta = comparisons["qat4"]!.deltaPerplexity, ptqDelta = comparisons["ptq4"]!.deltaPerplexity
        let qatAgainstFP32 = qatDelta.includesZero
            ? "QAT's own change from fp32, \(qatDelta.formatted("%+.3f")), is inside its noise band"
            : "QAT's own change from fp32 is \(qatDelta.formatted("%+.3f"))"
        let qatPplVerdict: String
        if pplGain.includesZero {
            qatPplVerdict = "perplexity cannot tell the two apart (difference \(pplGain.formatted("%+.3f")), an interval that includes 0); \(qatAgainstFP32)"
        } else if pplGain.value > 0 {
            qatPplVerdict = "perplexity agrees: round-to-nearest's is \(formatNumber("%.3f", pplGain.value)) higher than QAT's (paired interval \(pplGain.formatted("%+.3f"))); \(qatAgainstFP32)"
        } else {
            qatPplVerdict = "perplexity points the other way: round-to-nearest's is \(formatNumber("%.3f", -pplGain.value)) *lower* than QAT's (paired interval \(pplGain.formatted("%+.3f"))) and \(ptqDelta.interval.high < 0 ? "below fp32's" : ptqDelta.includesZero ? "within noise of fp32's" : "above fp32's") (Δ \(ptqDelta.formatted("%+.3f"))), while \(qatAgainstFP32)"
        }
        let top1Gain = HeldoutComparison.top1Difference(comparisons["qat4"]!, comparisons["ptq4"]!)
        func top1(_ key: String) -> String { String(format: "%.1f %% ", measured[key]!.top1 * 100) + measured[key]!.top1CI }
        let top1Difference = "QAT − round-to-nearest \(formatNumber("%+.1f", top1Gain.value * 100)) points, paired interval [\(formatNumber("%+.1f", top1Gain.interval.low * 100)), \(formatNumber("%+.1f", top1Gain.interval.high * 100))]"
        let qatTop1Verdict = "\(top1("ptq4")) for round-to-nearest, \(top1("qat4")) for QAT (\(top1Difference)"
            + (top1Gain.includesZero ? ": noise, top-1 does not tell the two apart on this text)"
                                     : ": QAT's agreement is \(top1Gain.value > 0 ? "higher" : "lower") beyond the noise)")
        func cost(_ label: String, _ d: Estimate) -> String {
            d.includesZero ? "\(label): no difference measurable (\(d.formatted("%+.5f")))"
                           : "\(label): \(d.value > 0 ? "+" : "−")\(formatNumber("%.5f", abs(d.value))) nats (paired interval \(d.formatted("%+.5f")))"
        }
        let a8Verdict = [cost("on 8-bit weights", cost8), cost("on round-to-nearest 4-bit weights", cost4),
                                cost("on QAT 4-bit weights", costQAT)].joined(separator: "; ")

        let chart = GroupedBarChart(
            metadata: lab.metadata(title: "PTQ against QAT, weight-only against 8-bit activations",
                                   description: "Mean KL of next-token distributions from fp32's on \(reference.tokens) held-out tokens, experts quantized (the rest fp32), with 95 % bootstrap intervals over chunks."),
            categories: ["4-bit, PTQ (round-to-nearest)", "4-bit, \(qatMethod)", "8-bit, PTQ (round-to-nearest)"],
            series: [("activations fp32 (weight-only)", ["ptq4", "qat4", "ptq8"]), ("activations rounded to 8 bits", ["ptq4_a8", "qat4_a8", "ptq8_a8"])].map { name, keys in
                BarSeries(name: name, values: keys.map { comparisons[$0]!.meanKL.value }, intervals: keys.map { comparisons[$0]!.meanKL.interval.range })
            },
            xLabel: "experts' weights", yLabel: "mean KL vs fp32 (nats; lower is better)",
            intervalLabel: "95 % interval of each bar (bootstrap over chunks)")
        return Result(tokens: reference.tokens, fp32Ppl: reference.perplexity, qatModel: qatModel,
                      qatSteps: Self.trainingSteps(qatFolder) ?? 0, ptq4: measured["ptq4"]!, ptq4A8: measured["ptq4_a8"]!,
                      qat4: measured["qat4"]!, qat4A8: measured["qat4_a8"]!, ptq8: measured["ptq8"]!, ptq8A8: measured["ptq8_a8"]!,
                      qatGain: gain.value, qatGainCI: gainCI, qatGainA8: gainA8.value, qatGainA8CI: gainA8CI,
                      qatPplGain: pplGain.value, qatPplGainCI: pplGainCI, a8Cost4: cost4.value, a8Cost4CI: cost4CI,
                      a8Cost8: cost8.value, a8Cost8CI: cost8CI, a8CostQAT: costQAT.value, a8CostQATCI: costQATCI,
                      qatVerdict: qatVerdict, qatPplVerdict: qatPplVerdict, qatTop1Verdict: qatTop1Verdict, a8Verdict: a8Verdict, table: table.description,
                      chartPtqQat: try lab.write(chart, file: "ptq-qat.png", caption: "KL from fp32 for PTQ and QAT experts, with and without 8-bit activations"))
    }

    /// The optimizer steps recorded in the QAT checkpoint's `qat.json`, if it has one.
    static func trainingSteps(_ folder: URL) -> Int? {
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("qat.json")),
              let record = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let log = record["log"] as? [[String: Any]] else { return nil }
        return log.last?["step"] as? Int
    }
}
