import Foundation
import Quantization
import Reports
import Engine

/// Lesson 3's experiment: post-training quantization of the whole model, compared with fp32.
struct ComparePrecisionsExperiment: Experiment {
    static let name = "compare-precisions"
    static let summary = "Greedy continuations, top-1 agreement, KL, perplexity, memory and speed per precision against fp32."
    /// It loads the model at each precision of its list (fp32 first), not at `--precision`.
    static let modelUse: ModelUse = .loadsModel
    static let parameters = [
        ParameterSpec("prompt", .text, "text to continue", default: "ROMEO:\n"),
        ParameterSpec("precisions", .list, "precisions besides fp32", default: ["int8", "q4", "nf4"]),
        ParameterSpec("max_tokens", .int, "greedy continuation length", default: 48),
        ParameterSpec("heldout_tokens", .int, "held-out tokens for perplexity", default: 4096),
    ]
    static func variableKeys(_ parameters: ExperimentParameters) throws -> [String: [String]] {
        // fp32 is always the first row (`PrecisionComparison` adds it).
        var names = ["fp32"]
        for spec in try parameters.precisionSpecs("precisions").map(\.description) where !names.contains(spec) { names.append(spec) }
        return ["precisions": names]
    }

    struct Result: Codable {
        /// One precision against fp32.
        struct Row: Codable {
            /// Weight memory in MiB, bits per weight, decode tokens per second.
            let mib: Double
            let bits: Double
            let tokS: Double
            /// Top-1 agreement with fp32 and mean KL from fp32 along fp32's continuation.
            let top1: Double
            let kl: Double
            /// Held-out perplexity.
            let ppl: Double
            /// "token N" or "none (identical)".
            let divergesAt: String
            /// The residual stream's relative error after the first and after the last layer (the chart's ends).
            let residualFirst: Double
            let residualLast: Double

            enum CodingKeys: String, CodingKey {
                case mib, bits, tokS = "tok_s", top1, kl, ppl, divergesAt = "diverges_at", residualFirst = "residual_first",
                     residualLast = "residual_last"
            }
        }

        /// Markdown: every precision's row.
        let table: String
        /// Positions the top-1 agreement and KL are measured at (the prompt and fp32's continuation), and
        /// what one of them weighs in the top-1 share (1 / positions).
        let positions: Int
        let tokenShare: Double
        /// Which perplexity changes from fp32 are noise (their 95 % interval includes 0) and which are not.
        let pplVerdict: String
        let heldoutTokens: Int
        /// Per precision spec (`fp32`, `q4`, `attn=int8,experts=q4`).
        let precisions: [String: Row]
        /// Markdown: each precision's continuation, divergence marked.
        let continuations: String
        let chartResidualError: ChartFile
        let chartPerplexity: ChartFile

        enum CodingKeys: String, CodingKey {
            case table, positions, tokenShare = "token_share", pplVerdict = "ppl_verdict", heldoutTokens = "heldout_tokens", precisions, continuations, chartResidualError = "chart_residual_error",
                 chartPerplexity = "chart_perplexity"
        }
    }

    let prompt: String
    let precisions: [PrecisionSpec]
    let maxTokens: Int
    let heldoutTokens: Int

    init(_ parameters: ExperimentParameters) throws {
        prompt = parameters.text("prompt")
        precisions = try parameters.precisionSpecs("precisions")
        maxTokens = parameters.int("max_tokens")
        heldoutTokens = parameters.int("heldout_tokens")
    }

    func run(in lab: LabContext) throws -> Result {
        let comparison = try PrecisionComparison(lab: lab, promptIDs: lab.tokenizer.encode(prompt, addBOS: true), precisions: precisions, maxTokens: maxTokens,
                                                 heldoutTokens: heldoutTokens)
        var rows: [String: Result.Row] = [:]
        for row in comparison.rows {
            rows[row.precision.description] = Result.Row(
                mib: Double(row.weightBytes) / 1_048_576, bits: row.bitsPerWeight, tokS: row.decodeTokensPerSecond,
                top1: row.comparison.top1Agreement, kl: row.comparison.meanKL, ppl: row.perplexity,
                divergesAt: row.firstDivergence.map { "token \($0 + 1)" } ?? "none (identical)",
                residualFirst: row.comparison.residualRelativeError.first ?? 0,
                residualLast: row.comparison.residualRelativeError.last ?? 0)
        }
        let continuations = comparison.continuations(tokenizer: lab.tokenizer)
            .map { "**\($0.precision)**\n\n```\n\(prompt)\($0.text)\n```" }.joined(separator: "\n\n")
        let charts = try comparison.writeCharts(lab: lab)
        let positions = comparison.rows.first?.comparison.positions ?? 0
        return Result(table: comparison.table().description, positions: positions, tokenShare: 1 / Double(max(positions, 1)), pplVerdict: Self.perplexityVerdict(comparison), heldoutTokens: comparison.heldoutTokens, precisions: rows,
                      continuations: continuations, chartResidualError: charts.residualError, chartPerplexity: charts.perplexity)
    }

    /// "The changes of int8 and q4 from fp32 lie within their 95 % intervals …; nf4's +0.460 [+0.141, +0.766] does not: …".
    static func perplexityVerdict(_ comparison: PrecisionComparison) -> String {
        let changes = comparison.rows.compactMap { row in row.perplexityChange.map { (row.precision.description, $0) } }
        let noisy = changes.filter { $0.1.includesZero }.map(\.0)
        let clear = changes.filter { !$0.1.includesZero }
        var parts: [String] = []
        if !noisy.isEmpty {
            parts.append("The perplexity change\(noisy.count > 1 ? "s" : "") of \(spokenList(noisy)) from fp32 include\(noisy.count > 1 ? "" : "s") 0 in \(noisy.count > 1 ? "their" : "its") 95 % interval (the table's last column): noise on these \(comparison.heldoutTokens) tokens, which ranks none of them")
        }
        if !clear.isEmpty {
            let worse = clear.filter { $0.1.value > 0 }, better = clear.filter { $0.1.value < 0 }
            func described(_ items: [(String, Estimate)]) -> String { spokenList(items.map { "\($0.0)'s \($0.1.formatted("%+.3f"))" }) }
            if !worse.isEmpty { parts.append("\(described(worse)) lie\(worse.count > 1 ? "" : "s") above 0: worse than fp32 beyond the noise") }
            if !better.isEmpty { parts.append("\(described(better)) lie\(better.count > 1 ? "" : "s") below 0, which quantization noise can do on one text") }
        }
        return parts.isEmpty ? "No held-out text was scored" : parts.joined(separator: "; ")
    }
}
