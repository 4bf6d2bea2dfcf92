import Foundation
import Engine
import Quantization
import Charts

/// Lesson 4's experiment: quantize one tensor class at a time (the rest fp32) and measure held-out
/// perplexity and KL against fp32, then a mixed recipe like the paper's (attention at higher precision
/// than the experts).
struct SensitivityByClassExperiment: Experiment {
    static let name = "sensitivity-by-class"
    static let summary = "Perplexity when one tensor class at a time is quantized, and a mixed-precision recipe."
    static let parameters = [
        ParameterSpec("precision", .text, "precision applied to one class at a time", default: "q4"),
        ParameterSpec("recipe", .text, "a mixed precision spec to compare", default: "attn=int8,experts=q4,router=fp32,embed=int8,head=int8"),
        ParameterSpec("heldout_tokens", .int, "held-out tokens for perplexity", default: 4096),
    ]
    /// Per class (`attn`, `experts`, `router`, `embed`, `head`) and for `fp32`, `all`, `recipe`: ppl, delta_ppl, kl, mib, share.
    static let resultKeys = ["table", "precision", "recipe_spec", "most_sensitive", "least_sensitive", "*"]

    let precision: Precision
    let recipe: PrecisionSpec
    let heldoutTokens: Int

    init(_ parameters: ExperimentParameters) throws {
        precision = try parameters.precision("precision")
        recipe = try parameters.precisionSpec("recipe")
        heldoutTokens = parameters.int("heldout_tokens")
    }

    func run(in lab: LabContext) throws -> ExperimentResult {
        let windows = try lab.heldoutWindows(limit: heldoutTokens)
        let fp32Spec = PrecisionSpec(uniform: .fp32)
        let reference = try lab.model(fp32Spec)
        let fp32 = try Perplexity.evaluate(model: reference, windows: windows).perplexity
        let probe = Array((windows.first ?? []).prefix(128))
        var values: [String: Any] = ["precision": precision.rawValue, "recipe_spec": recipe.description]
        var table = MarkdownTable(["quantized to \(precision.rawValue)", "weights", "perplexity", "Δ perplexity", "KL vs fp32 (nats)"])
        func measure(_ spec: PrecisionSpec) throws -> [String: Any] {
            let model = try lab.model(spec)
            let ppl = try Perplexity.evaluate(model: model, windows: windows).perplexity
            let kl = try ModelComparison(reference: reference, candidate: model, tokens: probe).meanKL
            return ["ppl": ppl, "delta_ppl": ppl - fp32, "kl": kl, "mib": Double(model.weightBytes) / 1_048_576]
        }
        values["fp32"] = ["ppl": fp32, "delta_ppl": 0.0, "kl": 0.0, "mib": Double(reference.weightBytes) / 1_048_576]
        table.rows.append(["nothing (fp32)", formatBytes(Double(reference.weightBytes)), String(format: "%.3f", fp32), "0", "0"])
        var deltas: [(String, Double)] = []
        for tensorClass in TensorClass.allCases {
            lab.progress("quantizing only \(tensorClass.rawValue) to \(precision.rawValue)")
            let result = try measure(PrecisionSpec([tensorClass: precision]))
            values[tensorClass.rawValue] = result
            deltas.append((tensorClass.rawValue, result["delta_ppl"] as! Double))
            table.rows.append(row("only \(tensorClass.rawValue)", result))
        }
        let all = try measure(PrecisionSpec([.attention: precision, .experts: precision, .router: precision,
                                             .embedding: precision, .head: precision]))
        values["all"] = all
        table.rows.append(row("everything", all))
        let mixed = try measure(recipe)
        values["recipe"] = mixed
        table.rows.append(row("recipe \(recipe)", mixed))
        values["table"] = table.description
        let sorted = deltas.sorted { $0.1 > $1.1 }
        values["most_sensitive"] = sorted.first?.0 ?? ""
        values["least_sensitive"] = sorted.last?.0 ?? ""

        let chart = GroupedBarChart(
            metadata: lab.metadata(title: "Which weights matter: perplexity cost of quantizing one class to \(precision.rawValue)",
                                   description: "Increase in held-out perplexity over fp32 when only one tensor class is quantized.",
                                   precision: precision.rawValue),
            categories: deltas.map(\.0) + ["everything", "recipe"],
            series: [BarSeries(name: "Δ perplexity", values: deltas.map(\.1) + [all["delta_ppl"] as! Double, mixed["delta_ppl"] as! Double])],
            xLabel: "tensor class quantized (the rest fp32)", yLabel: "perplexity − fp32 perplexity (lower is better)")
        return ExperimentResult(values: values, charts: [
            try lab.write(chart, file: "sensitivity-by-class.png", caption: "Perplexity cost per tensor class"),
        ])
    }

    private func row(_ label: String, _ r: [String: Any]) -> [String] {
        [label, formatBytes((r["mib"] as! Double) * 1_048_576), String(format: "%.3f", r["ppl"] as! Double),
         String(format: "%+.3f", r["delta_ppl"] as! Double), String(format: "%.5f", r["kl"] as! Double)]
    }
}
