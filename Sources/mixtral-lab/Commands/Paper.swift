import ArgumentParser
import Checkpoints
import Foundation
import Offloading
import Reports
import Quantization

/// `mixtral-lab paper …`: the tables of the paper mixtral-lab is built around (Eliseev & Mazur 2023,
/// arXiv:2312.17238), reproduced on a model.
struct Paper: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paper",
        abstract: "Reproduce the offloading paper's tables (Eliseev & Mazur 2023, arXiv:2312.17238) on a model.",
        subcommands: [Table1.self, Table2.self])

    struct Table1: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "table1",
            abstract: "Table 1: attention × experts at fp32, hqq4, hqq3, hqq2 — weights, bits/weight, held-out perplexity (plus q4, nf4, int8 rows).")

        @OptionGroup var modelOptions: ModelOptions
        @Option(parsing: .unconditional, help: "Held-out tokens each of the 19 models predicts (enough for at least 8 full windows, over which the 95% t intervals are taken; the default model's windows hold 255 tokens, so at least 2040).") var heldoutTokens: Int = 4096
        @Option(help: "Folder for the chart perplexity-vs-size.png (created if needed).") var charts: String?
        @Flag(help: "Replace an existing chart.") var force = false
        @Option(help: "Output: table or json.") var format: OutputFormat = .table

        func validate() throws {
            guard heldoutTokens >= 2 else { throw ValidationError("--heldout-tokens must be at least 2") }
        }

        static let chartFile = "perplexity-vs-size.png"

        func run() throws {
            let folder = URL(fileURLWithPath: charts ?? FileManager.default.currentDirectoryPath)
            let lab = try paperLab(checkpoint: try modelOptions.checkpoint(), modelOptions: modelOptions, outputDirectory: folder, overwrite: force)
            // Refuse before the 19 models are measured, not after.
            try checkEnoughWindows(lab)
            if charts != nil { try createChartFolder(folder, files: [Self.chartFile], force: force) }
            let table = try PaperTable1.measure(in: lab, heldoutTokens: heldoutTokens)
            switch format {
            case .json:
                emit(try snakeCaseJSONText(table))
            case .table:
                emit("Table 1 of Eliseev & Mazur 2023 (arXiv:2312.17238) on \(table.modelName): \(table.tokens) held-out tokens in \(table.windows) windows")
                emit("(hqq4/hqq3: groups of 64, hqq2: groups of 16, 8-bit scales and zero-points; router, embedding and LM head fp32)")
                emit("paper: columns are \(PaperFigures.citation), Table 1 — Mixtral-8x7B, its FP16 for our fp32, size in GB, WikiText-2 and C4 perplexity, 5-shot MMLU (– not reported).")
                emit("")
                emit(table.text)
                emit("")
                emit("Δ: perplexity minus the all-fp32 model's; [95% interval]: Student's t over the \(table.windows) windows' paired differences — for this text; consecutive windows are not quite independent, so another text can differ by more.")
                emit("Mixtral-8x7B GB: that spec's size in mixtral-lab's formats, from Mixtral-8x7B's shapes (fp32 read as fp16, as the paper runs it).")
                let sizes = table.sizeAgreement, cost = table.recipeCost
                emit(String(format: "paper: GB are GiB (its FP16 row, 86.99, is our %.1f GB ÷ 1.0737); so read, they are %.2f–%.2f× our computed sizes.",
                            table.cells[0].mixtralGB, sizes.lowerBound, sizes.upperBound))
                emit(String(format: "The paper's recipe (attention 4-bit, experts 2-bit) raises Mixtral-8x7B's perplexity by %.0f %% (WikiText-2) and %.0f %% (C4);",
                            100 * cost.paperWiki2, 100 * cost.paperC4)
                     + " on \(table.modelName) " + recipeCostText(table))
            }
            if charts != nil {
                let chart = table.chart(metadata: lab.metadata(
                    title: "Paper's Table 1 on \(table.modelName): perplexity against size, attention × experts",
                    description: "Held-out perplexity against weight bytes for attention and experts at fp32, hqq4, hqq3, hqq2."))
                try writeChart(chart, file: Self.chartFile, in: folder, force: force)
            }
        }

        /// The fewest full held-out windows Table 1 accepts. Its 95 % intervals are t intervals over the
        /// windows (`PaperTable1.pairedInterval`), which rest on the per-window differences being roughly
        /// normal — a weak assumption with a handful of windows, and the interval is wide there anyway (t is
        /// 12.7 for two windows, 2.36 for eight). Eight — lesson 10's count — is this project's floor, not a
        /// published constant.
        static let minimumWindows = 8

        /// Refuses a `--heldout-tokens` that cuts the held-out text into fewer than `minimumWindows` full
        /// windows (a shorter last window does not count). Names the smallest value that gives enough.
        /// - Throws: `ValidationError`; `CheckpointError` when the model has no held-out text.
        private func checkEnoughWindows(_ lab: LabContext) throws {
            let length = lab.heldoutWindowLength
            func fullWindows(_ tokens: Int) throws -> Int { try lab.heldoutWindows(limit: tokens).filter { $0.count == length }.count }
            guard try fullWindows(heldoutTokens) < Self.minimumWindows else { return }
            // the windows are cut from the start of the text, so the count only grows with the prefix
            let all = try lab.heldoutTokens().count
            guard try fullWindows(all) >= Self.minimumWindows else {
                throw ValidationError("--heldout-tokens: the model's held-out text (\(all) tokens) makes fewer than \(Self.minimumWindows) full windows of \(length) tokens, so Table 1 has no meaningful intervals to give")
            }
            var low = heldoutTokens, high = all   // fullWindows(low) < minimum ≤ fullWindows(high)
            while high - low > 1 {
                let middle = (low + high) / 2
                if try fullWindows(middle) >= Self.minimumWindows { high = middle } else { low = middle }
            }
            throw ValidationError("--heldout-tokens \(heldoutTokens) gives \(counted(try fullWindows(heldoutTokens), "full held-out window")); the 95% t intervals over windows need at least \(Self.minimumWindows): give at least \(high)")
        }

        /// "it raises ours by 12 % (95% interval +8 … +16 %)." — the recipe cell's change over all-fp32 with
        /// its interval; "changes … by" with a sign when the interval does not lie above zero.
        private func recipeCostText(_ table: PaperTable1) -> String {
            let ours = 100 * table.recipeCost.ours
            guard let cell = table.cells.first(where: { $0.attention == "hqq4" && $0.experts == "hqq2" }),
                  let low = cell.deltaLow, let high = cell.deltaHigh else {
                return String(format: "it changes ours by %+.0f %% (no interval).", ours)
            }
            let base = cell.perplexity - cell.deltaPerplexity
            let interval = String(format: " (95%% interval %+.0f … %+.0f %%).", 100 * low / base, 100 * high / base)
            return (low > 0 ? String(format: "it raises ours by %.0f %%", ours) : String(format: "it changes ours by %+.0f %%", ours)) + interval
        }
    }

    struct Table2: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "table2",
            abstract: "Table 2: simulated decode tokens/s of Mixtral-8x7B (hqq4 attention, hqq2/hqq3 experts) on A100, RTX 3080 Mobile, RTX 3060 and T4 for the paper's algorithm, its ablations and cpu-compute.",
            discussion: """
            Sizes are Mixtral-8x7B's; routing (hit rates, prefetch accuracy) is recorded on the model given \
            (the default model: 4 layers, stretched to 32). Hardware numbers are the built-in profiles' \
            (their numbers are printed under the table; Sources/Offloading/BuiltInHardware.swift cites each).
            """)

        @OptionGroup var modelOptions: ModelOptions
        @Option(parsing: .unconditional, help: "Held-out tokens forming the prompt.") var promptTokens: Int = 32
        @Option(parsing: .unconditional, help: "Tokens decoded after the prompt (the routing replayed).") var decodeTokens: Int = 128
        @Option(help: "Output: table or json.") var format: OutputFormat = .table

        func validate() throws {
            guard promptTokens >= 1 else { throw ValidationError("--prompt-tokens must be at least 1") }
            guard decodeTokens >= 1 else { throw ValidationError("--decode-tokens must be at least 1") }
        }

        func run() throws {
            let checkpoint = try modelOptions.checkpoint()
            guard promptTokens + decodeTokens <= checkpoint.config.maxPositionEmbeddings else {
                throw ValidationError("--prompt-tokens + --decode-tokens = \(promptTokens + decodeTokens) exceeds the model's \(checkpoint.config.maxPositionEmbeddings) positions")
            }
            let lab = try paperLab(checkpoint: checkpoint, modelOptions: modelOptions,
                                   outputDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath), overwrite: false)
            let table = try PaperTable2.measure(in: lab, promptTokens: promptTokens, decodeTokens: decodeTokens)
            switch format {
            case .json:
                emit(try snakeCaseJSONText(table))
            case .table:
                emit("Table 2 of Eliseev & Mazur 2023 (arXiv:2312.17238), simulated: Mixtral-8x7B decode tokens/s, attention hqq4, experts hqq2 or hqq3")
                emit("Routing: the default model's — recorded on \(table.modelName) (\(table.promptTokens)-token prompt, \(table.decodeTokens) decoded tokens, its layers repeated to 32), not Mixtral-8x7B's.")
                emit("paper: \(PaperFigures.citation), Table 2 — measured on Mixtral-8x7B-Instruct in PyTorch (its 3-bit T4 column is an Azure T4); sim ÷ paper: simulated ÷ measured.")
                emit("")
                emit(table.text)
                emit("")
                emit("full algorithm: LRU + prefetch of the next layer's 2 likeliest experts; no cache: every expert read when needed;")
                emit("naive: every expert of each layer copied per token; cpu-compute: experts 0 … slots−1 fixed on the GPU, the rest computed by the host CPU;")
                emit("cheaper: the same fixed experts, each miss computed on the host CPU or copied, whichever the profile makes cheaper (below).")
                emit("(?): the paper's 3-bit naive figure on the RTX 3060 (1.791) is above its own \"w/o LRU cache & pre-loading\" (1.346) and twice its 2-bit naive figure (0.919) — probably a typo in the paper; shown as printed.")
                emit("GPU GB: weights held on the GPU (KV cache and activations not counted).")
                emit("")
                emit(table.prefetchVerdict(topK: checkpoint.config.numExpertsPerToken, experts: checkpoint.config.numExperts))
                emit("")
                emit("Where simulated and measured differ by more than \(String(format: "%.1f", PaperTable2.explainedRatio))×:")
                for line in table.explanations { emit("  - \(line)") }
                emit("")
                emit("cheaper against cpu-compute — one expert of decode (one token), host CPU roofline against copy + GPU compute:")
                for line in table.missCosts { emit("  - \(line)") }
                let overCPU = table.cheaperGain(over: .cpuCompute), overFull = table.cheaperGain(over: .full)
                emit(String(format: "  cheaper ÷ cpu-compute: %.2f–%.2f×; cheaper ÷ full algorithm: %.2f–%.2f× (over the eight machine × precision cells).",
                            overCPU.lowerBound, overCPU.upperBound, overFull.lowerBound, overFull.upperBound))
                emit("")
                emit("Assumptions:")
                for line in table.assumptions { emit("  - \(line)") }
                emit("Left out by the simulation:")
                for line in PaperTable2.leftOut { emit("  - \(line)") }
            }
        }
    }
}

/// The lab both tables measure in: the model at fp32 as the base, progress on standard error.
private func paperLab(checkpoint: Checkpoint, modelOptions: ModelOptions, outputDirectory: URL, overwrite: Bool) throws -> LabContext {
    LabContext(checkpoint: checkpoint, tokenizer: try modelOptions.tokenizer(), outputDirectory: outputDirectory,
               basePrecision: PrecisionSpec(uniform: .fp32), commandLine: CommandLine.arguments.joined(separator: " "),
               overwrite: overwrite, progress: { message in note("  … \(message)") })
}
