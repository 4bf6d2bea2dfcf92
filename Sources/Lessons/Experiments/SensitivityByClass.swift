import Foundation
import Engine
import Quantization
import Charts
import Reports

/// Lesson 4's experiment: quantize one tensor class at a time (the rest fp32) and measure, on held-out text
/// against fp32, mean KL of the next-token distributions, top-1 agreement and perplexity — each with a 95 %
/// bootstrap interval over 64-token chunks (`HeldoutComparison`) — then a mixed recipe like the paper's
/// (attention at higher precision than the experts). Classes are ranked by KL, and two classes whose paired
/// KL difference includes 0 are reported as tied.
struct SensitivityByClassExperiment: Experiment {
    static let name = "sensitivity-by-class"
    static let summary = "KL, top-1 agreement and perplexity (with bootstrap intervals) when one tensor class at a time is quantized, and a mixed-precision recipe."
    /// It loads the model at fp32 and with one tensor class quantized at a time, not at `--precision`.
    static let modelUse: ModelUse = .loadsModel
    static let parameters = [
        ParameterSpec("precision", .text, "precision applied to one class at a time", default: "q4"),
        ParameterSpec("recipe", .text, "a mixed precision spec to compare", default: "attn=int8,experts=q4,router=fp32,embed=int8,head=int8"),
        ParameterSpec("heldout_tokens", .int, "held-out tokens for KL and perplexity", default: 4096),
    ]
    static func variableKeys(_ parameters: ExperimentParameters) throws -> [String: [String]] {
        ["classes": TensorClass.allCases.map(\.rawValue)]
    }

    struct Result: Codable {
        /// One quantized model against fp32 on the held-out text, intervals as text (95 %, bootstrap over chunks).
        struct Measure: Codable {
            let ppl: Double
            let deltaPpl: Double
            let deltaPplCI: String
            let kl: Double
            let klCI: String
            let top1: Double
            let top1CI: String
            /// Weight memory and what quantizing saved against fp32, MiB.
            let mib: Double
            let savedMiB: Double

            enum CodingKeys: String, CodingKey {
                case ppl, deltaPpl = "delta_ppl", deltaPplCI = "delta_ppl_ci", kl, klCI = "kl_ci", top1, top1CI = "top1_ci", mib,
                     savedMiB = "saved_mib"
            }
        }

        /// fp32 itself: the reference (no intervals).
        struct Reference: Codable {
            let ppl: Double
            let deltaPpl: Double
            let kl: Double
            let top1: Double
            let mib: Double
            let savedMiB: Double

            enum CodingKeys: String, CodingKey { case ppl, deltaPpl = "delta_ppl", kl, top1, mib, savedMiB = "saved_mib" }
        }

        let precision: String
        let recipeSpec: String
        /// Held-out tokens and 64-token chunks measured.
        let tokens: Int
        let chunks: Int
        let fp32: Reference
        /// Per tensor class (`attn`, `experts`, `router`, `embed`, `head`) quantized alone.
        let classes: [String: Measure]
        /// Every class quantized; the recipe.
        let all: Measure
        let recipe: Measure
        /// Markdown: every row.
        let table: String
        let klRanking: String
        let mostSensitive: String
        let pplVerdict: String
        let recipeVerdict: String
        let recipeVsAll: String
        let chartKlVsMemory: ChartFile

        enum CodingKeys: String, CodingKey {
            case precision, recipeSpec = "recipe_spec", tokens, chunks, fp32, classes, all, recipe, table, klRanking = "kl_ranking",
                 mostSensitive = "most_sensitive", pplVerdict = "ppl_verdict", recipeVerdict = "recipe_verdict",
                 recipeVsAll = "recipe_vs_all", chartKlVsMemory = "chart_kl_vs_memory"
        }
    }

    let precision: Precision
    let recipe: PrecisionSpec
    let heldoutTokens: Int

    init(_ parameters: ExperimentParameters) throws {
        precision = try parameters.precision("precision")
        recipe = try parameters.precisionSpec("recipe")
        heldoutTokens = parameters.int("heldout_tokens")
        guard heldoutTokens >= 128 else { throw ExperimentParameterError.invalid("heldout_tokens", reason: "must be at least 128") }
    }

    func run(in lab: LabContext) throws -> Result {
        let windows = try lab.heldoutWindows(limit: heldoutTokens)
        let referenceModel = try lab.model(PrecisionSpec(uniform: .fp32))
        lab.progress("running fp32 on \(heldoutTokens) held-out tokens")
        let reference = try HeldoutReference(model: referenceModel, windows: windows)
        let fp32MiB = Double(referenceModel.weightBytes) / 1_048_576
        func measure(_ spec: PrecisionSpec) throws -> (HeldoutComparison, Result.Measure) {
            let model = try lab.model(spec)
            let c = try HeldoutComparison(reference: reference, candidate: model)
            let mib = Double(model.weightBytes) / 1_048_576
            return (c, Result.Measure(ppl: c.perplexity.value, deltaPpl: c.deltaPerplexity.value,
                                      deltaPplCI: c.deltaPerplexity.interval.formatted("%+.3f"),
                                      kl: c.meanKL.value, klCI: c.meanKL.interval.formatted("%.4f"),
                                      top1: c.top1Agreement.value, top1CI: c.top1Agreement.interval.formatted("%.3f"),
                                      mib: mib, savedMiB: fp32MiB - mib))
        }
        var table = MarkdownTable(["quantized to \(precision.rawValue)", "weights", "MiB saved", "mean KL vs fp32 (nats) [95 %]",
                                   "top-1 agreement [95 %]", "Δ perplexity [95 %]"])
        func row(_ label: String, _ c: HeldoutComparison, _ r: Result.Measure) -> [String] {
            [label, formatBytes(r.mib * 1_048_576), String(format: "%.2f", r.savedMiB),
             c.meanKL.formatted("%.4f"), String(format: "%.1f %% [%.1f, %.1f]", c.top1Agreement.value * 100, c.top1Agreement.interval.low * 100, c.top1Agreement.interval.high * 100),
             c.deltaPerplexity.formatted("%+.3f")]
        }
        let fp32 = Result.Reference(ppl: reference.perplexity, deltaPpl: 0, kl: 0, top1: 1, mib: fp32MiB, savedMiB: 0)
        table.rows.append(["nothing (fp32)", formatBytes(Double(referenceModel.weightBytes)), "0", "0", "100 %",
                           String(format: "0 (perplexity %.3f)", reference.perplexity)])
        var classes: [(name: String, comparison: HeldoutComparison, savedMiB: Double)] = []
        var byClass: [String: Result.Measure] = [:]
        for tensorClass in TensorClass.allCases {
            lab.progress("quantizing only \(tensorClass.rawValue) to \(precision.rawValue)")
            let (c, result) = try measure(PrecisionSpec([tensorClass: precision]))
            byClass[tensorClass.rawValue] = result
            classes.append((tensorClass.rawValue, c, result.savedMiB))
            table.rows.append(row("only \(tensorClass.rawValue)", c, result))
        }
        let (allComparison, all) = try measure(PrecisionSpec([.attention: precision, .experts: precision, .router: precision,
                                                              .embedding: precision, .head: precision]))
        table.rows.append(row("everything", allComparison, all))
        let (recipeComparison, mixed) = try measure(recipe)
        table.rows.append(row("recipe \(recipe)", recipeComparison, mixed))

        // Ranking by KL, the least noisy of the three measures: neighbours whose paired difference includes 0 are tied.
        let ranked = classes.sorted { $0.comparison.meanKL.value > $1.comparison.meanKL.value }
        var ranking = "**\(ranked[0].name)** (\(String(format: "%.4f", ranked[0].comparison.meanKL.value)))"
        for (previous, next) in zip(ranked, ranked.dropFirst()) {
            let difference = HeldoutComparison.klDifference(previous.comparison, next.comparison)
            ranking += (difference.includesZero ? " ≈ " : " > ") + "**\(next.name)** (\(String(format: "%.4f", next.comparison.meanKL.value)))"
        }

        // Perplexity: which changes are inside their own interval.
        let noisy = classes.filter { $0.comparison.deltaPerplexity.includesZero }.map(\.name)
        let clear = classes.filter { !$0.comparison.deltaPerplexity.includesZero }
            .map { "\($0.name) (\($0.comparison.deltaPerplexity.formatted("%+.3f")))" }
        let pplVerdict = (noisy.isEmpty ? "No class's perplexity change includes 0 in its interval"
                                    : "For \(spokenList(noisy)) the perplexity change includes 0 in its interval: it is noise on this text, and says nothing about which is better")
            + (clear.isEmpty ? "; no class moves perplexity by more than its interval." : "; only \(spokenList(clear)) moved it by more than the interval.")
        let recipeDelta = recipeComparison.deltaPerplexity
        let recipeVerdict = recipeDelta.includesZero
            ? "Its perplexity cannot be told apart from fp32's on these \(reference.tokens) tokens (Δ \(recipeDelta.formatted("%+.3f"))) — not better, not worse; its KL of \(String(format: "%.4f", recipeComparison.meanKL.value)) nats says it is not the same model"
            : (recipeDelta.value > 0 ? "Its perplexity is above fp32's by \(recipeDelta.formatted("%+.3f"))"
                                     : "Its perplexity is below fp32's (Δ \(recipeDelta.formatted("%+.3f"))), which quantization noise can do on one text; its KL of \(String(format: "%.4f", recipeComparison.meanKL.value)) nats says it is not the same model")
        let klGain = HeldoutComparison.klDifference(allComparison, recipeComparison)
        let recipeVsAll = klGain.includesZero
            ? "its KL cannot be told apart from everything-at-\(precision.rawValue)'s (paired difference \(klGain.formatted("%+.4f")) nats)"
            : "its KL is \(String(format: "%.4f", klGain.value)) nats \(klGain.value > 0 ? "lower" : "higher") than everything-at-\(precision.rawValue)'s (paired difference \(klGain.interval.formatted("%+.4f")))"

        // KL against MiB saved: what a recipe trades. One point per class, with its interval as a bar.
        let points = classes.map { ($0.name, $0.savedMiB, $0.comparison.meanKL) }
            + [("everything", all.savedMiB, allComparison.meanKL), ("recipe", mixed.savedMiB, recipeComparison.meanKL)]
        let chart = LineChart(
            metadata: lab.metadata(title: "Damage (KL vs fp32) against memory saved: one class at \(precision.rawValue), everything, a recipe",
                                   description: "Mean KL of next-token distributions from fp32's on \(reference.tokens) held-out tokens against MiB saved; vertical bars are 95 % bootstrap intervals over 64-token chunks.",
                                   precision: precision.rawValue),
            series: points.map { LineSeries(name: $0.0, x: [$0.1], y: [$0.2.value], yIntervals: [$0.2.interval.low...$0.2.interval.high]) },
            xLabel: "weight memory saved against fp32 (MiB; right is smaller)", yLabel: "mean KL vs fp32 (nats; lower is better)")
        return Result(precision: precision.rawValue, recipeSpec: recipe.description, tokens: reference.tokens,
                      chunks: allComparison.chunkTokens.count, fp32: fp32, classes: byClass, all: all, recipe: mixed,
                      table: table.description, klRanking: ranking, mostSensitive: ranked[0].name, pplVerdict: pplVerdict,
                      recipeVerdict: recipeVerdict, recipeVsAll: recipeVsAll,
                      chartKlVsMemory: try lab.write(chart, file: "kl-vs-memory.png", caption: "KL against memory saved, per tensor class quantized"))
    }
}
