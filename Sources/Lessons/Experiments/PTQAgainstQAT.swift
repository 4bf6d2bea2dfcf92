import Foundation
import Engine
import Quantization
import Checkpoints
import Charts

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
    static let parameters = [
        ParameterSpec("qat_model", .text, "the QAT checkpoint, relative to the repository (made by tools/make_qat_model.py)",
                      default: "models/shakespeare-mixtral-qat4"),
        ParameterSpec("eval_tokens", .int, "held-out tokens for KL, top-1 and perplexity", default: 4096),
    ]
    /// Per variant (`ptq4`, `ptq4_a8`, `qat4`, `qat4_a8`, `ptq8`, `ptq8_a8`): kl, kl_ci, top1, top1_ci, ppl,
    /// delta_ppl, delta_ppl_ci; paired differences `qat_gain`, `qat_gain_a8`, `qat_ppl_gain` (…, _ci), `a8_cost4`,
    /// `a8_cost8`, `a8_cost_qat` (…, _ci) and their verdict sentences; `table`, `tokens`, `fp32_ppl`, `qat`
    /// (the QAT checkpoint's training record, when its qat.json is present).
    static let resultKeys = ["table", "tokens", "fp32_ppl", "qat_verdict", "qat_ppl_verdict", "a8_verdict", "qat_steps",
                             "qat_model", "*"]

    let qatModel: String
    let evalTokens: Int

    init(_ parameters: ExperimentParameters) throws {
        qatModel = parameters.text("qat_model")
        evalTokens = parameters.int("eval_tokens")
        guard evalTokens >= 128 else { throw ExperimentParameterError.invalid("eval_tokens", reason: "must be at least 128") }
    }

    func run(in lab: LabContext) throws -> ExperimentResult {
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

        var values: [String: Any] = ["tokens": reference.tokens, "fp32_ppl": reference.perplexity, "qat_model": qatModel]
        var table = MarkdownTable(["experts", "weights", "activations into the experts", "mean KL vs fp32 (nats) [95 %]",
                                   "top-1 agreement [95 %]", "Δ perplexity [95 %]"])
        var comparisons: [String: HeldoutComparison] = [:]
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
            values[v.key] = ["kl": c.meanKL.value, "kl_ci": c.meanKL.interval.formatted("%.5f"),
                             "top1": c.top1Agreement.value, "top1_ci": c.top1Agreement.interval.formatted("%.3f"),
                             "ppl": c.perplexity.value, "delta_ppl": c.deltaPerplexity.value,
                             "delta_ppl_ci": c.deltaPerplexity.interval.formatted("%+.3f")]
            table.rows.append([v.method, v.bits, v.activations == .fp32 ? "fp32 (weight-only, W·A32)" : "rounded to Q8_0 (W·A8)",
                               c.meanKL.formatted("%.5f"),
                               String(format: "%.1f %% [%.1f, %.1f]", c.top1Agreement.value * 100, c.top1Agreement.interval.low * 100,
                                      c.top1Agreement.interval.high * 100),
                               c.deltaPerplexity.formatted("%+.3f")])
        }
        values["table"] = table.description
        values["qat_steps"] = Self.trainingSteps(qatFolder) ?? 0

        // Paired differences: a − b on the same chunks, and what the lesson may say about each.
        func difference(_ key: String, _ a: String, _ b: String, perplexity: Bool = false) -> Estimate {
            let d = perplexity ? HeldoutComparison.perplexityDifference(comparisons[a]!, comparisons[b]!)
                               : HeldoutComparison.klDifference(comparisons[a]!, comparisons[b]!)
            values[key] = d.value
            values[key + "_ci"] = d.interval.formatted(perplexity ? "%+.3f" : "%+.5f")
            return d
        }
        let gain = difference("qat_gain", "ptq4", "qat4")
        let gainA8 = difference("qat_gain_a8", "ptq4_a8", "qat4_a8")
        let pplGain = difference("qat_ppl_gain", "ptq4", "qat4", perplexity: true)
        let cost4 = difference("a8_cost4", "ptq4_a8", "ptq4")
        let cost8 = difference("a8_cost8", "ptq8_a8", "ptq8")
        let costQAT = difference("a8_cost_qat", "qat4_a8", "qat4")
        let ptqKL = comparisons["ptq4"]!.meanKL.value
        values["qat_verdict"] = gain.includesZero
            ? "QAT's experts cannot be told apart from round-to-nearest's on this text (KL difference \(gain.formatted("%+.5f")))"
            : "QAT's experts \(gain.value > 0 ? "lower" : "raise") the KL from fp32 by \(formatNumber("%.5f", abs(gain.value))) nats, \(String(format: "%.0f", abs(gain.value) / ptqKL * 100)) % of round-to-nearest's (paired interval \(gain.formatted("%+.5f"))); with 8-bit activations too the difference is \(gainA8.formatted("%+.5f"))"
        let qatDelta = comparisons["qat4"]!.deltaPerplexity, ptqDelta = comparisons["ptq4"]!.deltaPerplexity
        let qatAgainstFP32 = qatDelta.includesZero
            ? "QAT's own change from fp32, \(qatDelta.formatted("%+.3f")), is inside its noise band"
            : "QAT's own change from fp32 is \(qatDelta.formatted("%+.3f"))"
        if pplGain.includesZero {
            values["qat_ppl_verdict"] = "perplexity cannot tell the two apart (difference \(pplGain.formatted("%+.3f")), an interval that includes 0); \(qatAgainstFP32)"
        } else if pplGain.value > 0 {
            values["qat_ppl_verdict"] = "perplexity agrees: round-to-nearest's is \(formatNumber("%.3f", pplGain.value)) higher than QAT's (paired interval \(pplGain.formatted("%+.3f"))); \(qatAgainstFP32)"
        } else {
            values["qat_ppl_verdict"] = "perplexity points the other way: round-to-nearest's is \(formatNumber("%.3f", -pplGain.value)) *lower* than QAT's (paired interval \(pplGain.formatted("%+.3f"))) and \(ptqDelta.interval.high < 0 ? "below fp32's" : ptqDelta.includesZero ? "within noise of fp32's" : "above fp32's") (Δ \(ptqDelta.formatted("%+.3f"))), while \(qatAgainstFP32)"
        }
        func cost(_ label: String, _ d: Estimate) -> String {
            d.includesZero ? "\(label): no difference measurable (\(d.formatted("%+.5f")))"
                           : "\(label): \(d.value > 0 ? "+" : "−")\(formatNumber("%.5f", abs(d.value))) nats (paired interval \(d.formatted("%+.5f")))"
        }
        values["a8_verdict"] = [cost("on 8-bit weights", cost8), cost("on round-to-nearest 4-bit weights", cost4),
                                cost("on QAT 4-bit weights", costQAT)].joined(separator: "; ")

        let chart = GroupedBarChart(
            metadata: lab.metadata(title: "PTQ against QAT, weight-only against 8-bit activations",
                                   description: "Mean KL of next-token distributions from fp32's on \(reference.tokens) held-out tokens, experts quantized (the rest fp32); 95 % intervals in the lesson's table."),
            categories: ["4-bit, PTQ (round-to-nearest)", "4-bit, \(qatMethod)", "8-bit, PTQ (round-to-nearest)"],
            series: [BarSeries(name: "activations fp32 (weight-only)", values: ["ptq4", "qat4", "ptq8"].map { comparisons[$0]!.meanKL.value }),
                     BarSeries(name: "activations rounded to 8 bits", values: ["ptq4_a8", "qat4_a8", "ptq8_a8"].map { comparisons[$0]!.meanKL.value })],
            xLabel: "experts' weights", yLabel: "mean KL vs fp32 (nats; lower is better)")
        return ExperimentResult(values: values, charts: [
            try lab.write(chart, file: "ptq-qat.png", caption: "KL from fp32 for PTQ and QAT experts, with and without 8-bit activations"),
        ])
    }

    /// The optimizer steps recorded in the QAT checkpoint's `qat.json`, if it has one.
    static func trainingSteps(_ folder: URL) -> Int? {
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("qat.json")),
              let record = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let log = record["log"] as? [[String: Any]] else { return nil }
        return log.last?["step"] as? Int
    }
}
