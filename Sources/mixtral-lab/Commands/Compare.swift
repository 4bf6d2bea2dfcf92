import ArgumentParser
import Foundation
import Quantization
import Charts
import Offloading
import Reports
import Engine

/// `mixtral-lab compare`: the same prompt at several precisions, side by side with fp32.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Greedy continuations per precision beside fp32 (first divergent token marked ⟦ ⟧), with memory, speed, agreement, KL and perplexity.",
        discussion: """
        With --policy, --cache-experts, --cache-bytes or --hardware, each precision's routing is also replayed through \
        that expert cache on the --hardware profile's simulated clock, with the experts' real sizes at that \
        precision: the table gains slots per layer, hit rate, bytes moved and estimated tokens/s. \
        --cache-bytes is the fair comparison: the same budget holds more experts at fewer bits. With \
        --ram-budget every precision's model streams its experts from disk under that budget (each model on \
        its own; all are kept until the end), and each one's real totals (policy, slots per layer, hit \
        rate, bytes read, read time and MiB/s, stall time, the process's peak RSS) follow the table, or \
        with --format json are each result's real_offloading object.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var activationOptions: ActivationOptions
    @OptionGroup var offloading: OffloadingOptions
    @OptionGroup var ramBudget: RAMBudgetOptions
    @OptionGroup var promptOptions: PromptOptions
    @Option(help: "Precisions to compare with fp32 (always the reference): comma-separated (int8,q4,nf4); per-class specs separated by ; (\"q4;attn=int8,experts=nf4\").")
    var precisions: String = "int8,q4,nf4"
    @Option(parsing: .unconditional, help: "Greedy tokens per precision.") var maxTokens: Int = 48
    @Option(parsing: .unconditional, help: "Held-out tokens for perplexity (0 = skip).") var heldoutTokens: Int = 4096
    @Option(help: "Write charts (residual error per layer, perplexity) to this folder.") var charts: String?
    @Flag(help: "Replace existing chart files.") var force = false
    @Option(help: "Output: table or json.") var format: OutputFormat = .table

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        guard heldoutTokens >= 0 else { throw ValidationError("--heldout-tokens must be ≥ 0") }
        try offloading.checkPrefetchFlagsApply()
    }

    func run() throws { try run(printing: { emit($0) }) }

    /// Runs the comparison at `--activations`, handing each line of standard output to `out` (tests read
    /// it there).
    func run(printing out: (String) -> Void) throws {
        try activationOptions.bound { try compare(printing: out) }
    }

    private func compare(printing out: (String) -> Void) throws {
        let specs = try parsePrecisionList(precisions)
        let output = URL(fileURLWithPath: charts ?? FileManager.default.temporaryDirectory.appendingPathComponent("mixtral-lab-compare").path)
        // Refuse before the (slow) comparison runs, not after.
        if charts != nil { try createChartFolder(output, files: PrecisionComparison.chartFiles, force: force) }
        let checkpoint = try modelOptions.checkpoint()
        try offloading.check(checkpoint.config)
        try ramBudget.checkLabFloor(checkpoint, policy: offloading.policySpec)
        if ramBudget.mmapExperts {
            _ = try ramBudget.mappedExpertSource(checkpoint, precisions: [PrecisionSpec(uniform: .fp32)] + specs, flag: "--precisions")
        }
        var streamers: [(PrecisionSpec, DiskExpertProvider)] = []
        let lab = LabContext(checkpoint: checkpoint, tokenizer: try modelOptions.tokenizer(),
                             outputDirectory: output, basePrecision: PrecisionSpec(uniform: .fp32),
                             commandLine: CommandLine.arguments.joined(separator: " "), overwrite: force,
                             loadModel: ramBudget.labLoader(checkpoint, policy: offloading.policySpec) { streamers.append(($0, $1)) }) { message in
            note("  … \(message)")
        }
        let promptIDs = try promptOptions.tokens(tokenizer: lab.tokenizer, checkpoint: checkpoint, maxTokens: maxTokens,
                                                 context: checkpoint.config.maxPositionEmbeddings)
        // The prompt as text: as given, or the --token-ids decoded.
        let prompt = promptOptions.tokenIds == nil ? promptOptions.text : lab.tokenizer.decode(promptIDs, skipSpecialTokens: true)
        let comparison = try PrecisionComparison(lab: lab, promptIDs: promptIDs, precisions: specs, maxTokens: maxTokens,
                                                 heldoutTokens: heldoutTokens, offloading: offloading.requested ? try offloading.setup() : nil)
        let realOffloading = finishStreaming(streamers)
        let realOffloadingLines = diskSummaryLines(realOffloading, numExperts: checkpoint.config.numExperts)
        // the JSON keeps each continuation as generated, its first divergent token given by index
        let continuations = comparison.continuations(tokenizer: lab.tokenizer, marked: format != .json)
        switch format {
        case .json:
            let rows: [[String: Any]] = try zip(comparison.rows, continuations).map { row, text in
                var fields: [String: Any] = ["precision": row.precision.description, "weight_bytes": row.weightBytes, "expert_bits_per_weight": row.bitsPerWeight,
                 "decode_tokens_per_second": row.decodeTokensPerSecond, "top1_agreement": row.comparison.top1Agreement,
                 "mean_kl": row.comparison.meanKL, "perplexity": row.perplexity.isNaN ? NSNull() : row.perplexity,
                 "perplexity_change": row.perplexityChange.map { $0.value as Any } ?? NSNull(),
                 "perplexity_change_interval": row.perplexityChange.map { [$0.interval.low, $0.interval.high] as Any } ?? NSNull(),
                 "continuation": text.text, "first_divergence": row.firstDivergence.map { $0 as Any } ?? NSNull(),
                 "residual_relative_error": row.comparison.residualRelativeError]
                if let summary = row.offloading { fields["offloading"] = try snakeCaseJSONObject(summary) }
                if let real = realOffloading.first(where: { $0.precision == row.precision }) {
                    fields["real_offloading"] = try realOffloadingObject(real.summary)
                }
                return fields
            }
            let data = try JSONSerialization.data(withJSONObject: ["prompt": prompt, "heldout_tokens": comparison.heldoutTokens,
                                                                   "activations": activationOptions.activations.rawValue,
                                                                   "results": rows], options: [.sortedKeys])
            out(String(decoding: data, as: UTF8.self))
            // The JSON holds them; the terminal still sees them.
            for line in realOffloadingLines { note(line) }
        case .table:
            for (precision, text) in continuations {
                out("── \(precision) " + String(repeating: "─", count: max(0, 60 - precision.count)))
                out(prompt + text)
            }
            out("")
            out(comparison.table().description)
            out("\nagreement and KL: next-token distributions along fp32's continuation (\(comparison.rows.first?.comparison.positions ?? 0) positions); perplexity on \(comparison.heldoutTokens) held-out tokens")
            if comparison.heldoutTokens > 0 {
                out("perplexity − fp32: 95 % interval of a paired bootstrap over chunks of \(HeldoutComparison.defaultChunkTokens) held-out tokens (the same chunks for both); a change whose interval includes 0 is noise on this text")
            }
            out(activationsLine(activationOptions.activations))
            if let setup = comparison.offloading, let assumptions = comparison.rows.first?.offloading?.assumptions {
                out("offloading: \(setup.policy), \(setup.cache) on \(setup.hardware.name), simulated on each precision's own routing; assumptions:")
                for line in assumptions { out("  - \(line)") }
            }
            if !realOffloadingLines.isEmpty { out("") }
            for line in realOffloadingLines { out(line) }
        }
        if charts != nil {
            let written = try comparison.writeCharts(lab: lab)
            for chart in [written.residualError, written.perplexity] { out("chart: \(chart.url.path)") }
        }
    }
}

/// The table's note on `--activations`: which activations the int8/q4/HQQ products used.
func activationsLine(_ activations: ActivationPrecision) -> String {
    switch activations {
    case .fp32: return "activations: fp32 (int8/q4/hqq errors are the weights' alone; --activations q8 rounds them as llama.cpp does)"
    case .q8: return "activations: q8 — int8/q4/hqq products on activations rounded to 8 bits per block of 32 as llama.cpp does "
        + "(integer dot products); their error adds to the weights'. fp32 and the other formats keep fp32 activations."
    }
}

/// A real offloading run's totals as a JSON object: the summary's fields in snake_case, plus
/// `peak_rss_bytes`, this process's peak resident set size when the system reports it.
private func realOffloadingObject(_ summary: DiskOffloadingSummary) throws -> [String: Any] {
    // A struct's synthesized Encodable writes a keyed container: always a JSON object.
    var object = try snakeCaseJSONObject(summary) as! [String: Any]
    if let peak = peakResidentBytes() { object["peak_rss_bytes"] = peak }
    return object
}
