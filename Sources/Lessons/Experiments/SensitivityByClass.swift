import Foundation
import Engine
import Quantization
import Charts

/// Lesson 4's experiment: quantize one tensor class at a time (the rest fp32) and measure, on held-out text
/// against fp32, mean KL of the next-token distributions, top-1 agreement and perplexity — each with a 95 %
/// bootstrap interval over 64-token chunks (`HeldoutComparison`) — then a mixed recipe like the paper's
/// (attention at higher precision than the experts). Classes are ranked by KL, and two classes whose paired
/// KL difference includes 0 are reported as tied.
struct SensitivityByClassExperiment: Experiment {
    static let name = "sensitivity-by-class"
    static let summary = "KL, top-1 agreement and perplexity (with bootstrap intervals) when one tensor class at a time is quantized, and a mixed-precision recipe."
    static let parameters = [
        ParameterSpec("precision", .text, "precision applied to one class at a time", default: "q4"),
        ParameterSpec("recipe", .text, "a mixed precision spec to compare", default: "attn=int8,experts=q4,router=fp32,embed=int8,head=int8"),
        ParameterSpec("heldout_tokens", .int, "held-out tokens for KL and perplexity", default: 4096),
    ]
    /// Per class (`attn`, `experts`, `router`, `embed`, `head`) and for `fp32`, `all`, `recipe`: ppl, delta_ppl,
    /// delta_ppl_ci, kl, kl_ci, top1, top1_ci, mib, saved_mib.
    static let resultKeys = ["table", "precision", "recipe_spec", "kl_ranking", "most_sensitive", "ppl_verdict",
                             "recipe_verdict", "recipe_vs_all", "chunks", "tokens", "*"]

    let precision: Precision
    let recipe: PrecisionSpec
    let heldoutTokens: Int

    init(_ parameters: ExperimentParameters) throws {
        precision = try parameters.precision("precision")
        recipe = try parameters.precisionSpec("recipe")
        heldoutTokens = parameters.int("heldout_tokens")
        guard heldoutTokens >= 128 else { throw ExperimentParameterError.invalid("heldout_tokens", reason: "must be at least 128") }
    }

    func run(in lab: LabContext) throws -> ExperimentResult {
        let windows = try lab.heldoutWindows(limit: heldoutTokens)
        let referenceModel = try lab.model(PrecisionSpec(uniform: .fp32))
        lab.progress("running fp32 on \(heldoutTokens) held-out tokens")
        let reference = try HeldoutReference(model: referenceModel, windows: windows)
        let fp32MiB = Double(referenceModel.weightBytes) / 1_048_576
        var values: [String: Any] = ["precision": precision.rawValue, "recipe_spec": recipe.description, "tokens": reference.tokens]
        func measure(_ spec: PrecisionSpec) throws -> (HeldoutComparison, [String: Any]) {
            let model = try lab.model(spec)
            let c = try HeldoutComparison(reference: reference, candidate: model)
            let mib = Double(model.weightBytes) / 1_048_576
            return (c, ["ppl": c.perplexity.value, "delta_ppl": c.deltaPerplexity.value, "delta_ppl_ci": c.deltaPerplexity.interval.formatted("%+.3f"),
                        "kl": c.meanKL.value, "kl_ci": c.meanKL.interval.formatted("%.4f"),
                        "top1": c.top1Agreement.value, "top1_ci": c.top1Agreement.interval.formatted("%.3f"),
                        "mib": mib, "saved_mib": fp32MiB - mib])
        }
        var table = MarkdownTable(["quantized to \(precision.rawValue)", "weights", "MiB saved", "mean KL vs fp32 (nats) [95 %]",
                                   "top-1 agreement [95 %]", "Δ perplexity [95 %]"])
        func row(_ label: String, _ c: HeldoutComparison, _ r: [String: Any]) -> [String] {
            [label, formatBytes((r["mib"] as! Double) * 1_048_576), String(format: "%.2f", r["saved_mib"] as! Double),
             c.meanKL.formatted("%.4f"), String(format: "%.1f %% [%.1f, %.1f]", c.top1Agreement.value * 100, c.top1Agreement.interval.low * 100, c.top1Agreement.interval.high * 100),
             c.deltaPerplexity.formatted("%+.3f")]
        }
        values["fp32"] = ["ppl": reference.perplexity, "delta_ppl": 0.0, "kl": 0.0, "top1": 1.0, "mib": fp32MiB, "saved_mib": 0.0]
        table.rows.append(["nothing (fp32)", formatBytes(Double(referenceModel.weightBytes)), "0", "0", "100 %",
                           String(format: "0 (perplexity %.3f)", reference.perplexity)])
        var classes: [(name: String, comparison: HeldoutComparison, savedMiB: Double)] = []
        for tensorClass in TensorClass.allCases {
            lab.progress("quantizing only \(tensorClass.rawValue) to \(precision.rawValue)")
            let (c, result) = try measure(PrecisionSpec([tensorClass: precision]))
            values[tensorClass.rawValue] = result
            classes.append((tensorClass.rawValue, c, result["saved_mib"] as! Double))
            table.rows.append(row("only \(tensorClass.rawValue)", c, result))
        }
        let (allComparison, all) = try measure(PrecisionSpec([.attention: precision, .experts: precision, .router: precision,
                                                              .embedding: precision, .head: precision]))
        values["all"] = all
        table.rows.append(row("everything", allComparison, all))
        let (recipeComparison, mixed) = try measure(recipe)
        values["recipe"] = mixed
        table.rows.append(row("recipe \(recipe)", recipeComparison, mixed))
        values["table"] = table.description
        values["chunks"] = allComparison.chunkTokens.count

        // Ranking by KL, the least noisy of the three measures: neighbours whose paired difference includes 0 are tied.
        let ranked = classes.sorted { $0.comparison.meanKL.value > $1.comparison.meanKL.value }
        var ranking = "**\(ranked[0].name)** (\(String(format: "%.4f", ranked[0].comparison.meanKL.value)))"
        for (previous, next) in zip(ranked, ranked.dropFirst()) {
            let difference = HeldoutComparison.klDifference(previous.comparison, next.comparison)
            ranking += (difference.includesZero ? " ≈ " : " > ") + "**\(next.name)** (\(String(format: "%.4f", next.comparison.meanKL.value)))"
        }
        values["kl_ranking"] = ranking
        values["most_sensitive"] = ranked[0].name

        // Perplexity: which changes are inside their own interval.
        let noisy = classes.filter { $0.comparison.deltaPerplexity.includesZero }.map(\.name)
        let clear = classes.filter { !$0.comparison.deltaPerplexity.includesZero }
            .map { "\($0.name) (\($0.comparison.deltaPerplexity.formatted("%+.3f")))" }
        values["ppl_verdict"] = (noisy.isEmpty ? "No class's perplexity change includes 0 in its interval"
                                    : "For \(list(noisy)) the perplexity change includes 0 in its interval: it is noise on this text, and says nothing about which is better")
            + (clear.isEmpty ? "; no class moves perplexity by more than its interval." : "; only \(list(clear)) moved it by more than the interval.")
        let recipeDelta = recipeComparison.deltaPerplexity
        values["recipe_verdict"] = recipeDelta.includesZero
            ? "Its perplexity cannot be told apart from fp32's on these \(reference.tokens) tokens (Δ \(recipeDelta.formatted("%+.3f"))) — not better, not worse; its KL of \(String(format: "%.4f", recipeComparison.meanKL.value)) nats says it is not the same model"
            : (recipeDelta.value > 0 ? "Its perplexity is above fp32's by \(recipeDelta.formatted("%+.3f"))"
                                     : "Its perplexity is below fp32's (Δ \(recipeDelta.formatted("%+.3f"))), which quantization noise can do on one text; its KL of \(String(format: "%.4f", recipeComparison.meanKL.value)) nats says it is not the same model")
        let klGain = HeldoutComparison.klDifference(allComparison, recipeComparison)
        values["recipe_vs_all"] = klGain.includesZero
            ? "its KL cannot be told apart from everything-at-\(precision.rawValue)'s (paired difference \(klGain.formatted("%+.4f")) nats)"
            : "its KL is \(String(format: "%.4f", klGain.value)) nats \(klGain.value > 0 ? "lower" : "higher") than everything-at-\(precision.rawValue)'s (paired difference \(klGain.interval.formatted("%+.4f")))"

        // KL against MiB saved: what a recipe trades. One point per class, with its interval as a bar.
        let points = classes.map { ($0.name, $0.savedMiB, $0.comparison.meanKL) }
            + [("everything", all["saved_mib"] as! Double, allComparison.meanKL), ("recipe", mixed["saved_mib"] as! Double, recipeComparison.meanKL)]
        let chart = LineChart(
            metadata: lab.metadata(title: "Damage (KL vs fp32) against memory saved: one class at \(precision.rawValue), everything, a recipe",
                                   description: "Mean KL of next-token distributions from fp32's on \(reference.tokens) held-out tokens against MiB saved; vertical bars are 95 % bootstrap intervals over 64-token chunks.",
                                   precision: precision.rawValue),
            series: points.map { LineSeries(name: $0.0, x: [$0.1], y: [$0.2.value], yIntervals: [$0.2.interval.low...$0.2.interval.high]) },
            xLabel: "weight memory saved against fp32 (MiB; right is smaller)", yLabel: "mean KL vs fp32 (nats; lower is better)")
        return ExperimentResult(values: values, charts: [
            try lab.write(chart, file: "kl-vs-memory.png", caption: "KL against memory saved, per tensor class quantized"),
        ])
    }

    /// "a", "a and b", "a, b and c".
    private func list(_ names: [String]) -> String {
        names.count <= 1 ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names.last!
    }
}
