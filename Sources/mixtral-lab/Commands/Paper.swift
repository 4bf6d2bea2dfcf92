import ArgumentParser
import Foundation
import Lessons
import Quantization

/// `mixtral-lab paper …`: the tables of the paper mixtral-lab is built around (Eliseev & Mazur 2023,
/// arXiv:2312.17238), reproduced on a model.
struct Paper: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paper",
        abstract: "Reproduce the offloading paper's tables (Eliseev & Mazur 2023, arXiv:2312.17238) on a model.",
        subcommands: [Table1.self])

    struct Table1: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "table1",
            abstract: "Table 1: attention × experts at fp32, hqq4, hqq3, hqq2 — weights, bits/weight, held-out perplexity (plus q4, nf4, int8 rows).")

        @OptionGroup var modelOptions: ModelOptions
        @Option(parsing: .unconditional, help: "Held-out tokens each of the 19 models predicts.") var heldoutTokens: Int = 4096
        @Option(help: "Folder for the chart perplexity-vs-size.png (created if needed).") var charts: String?
        @Flag(help: "Replace an existing chart.") var force = false
        @Option(help: "Output: table or json.") var format: OutputFormat = .table

        func validate() throws {
            guard heldoutTokens >= 2 else { throw ValidationError("--heldout-tokens must be at least 2") }
        }

        func run() throws {
            let folder = URL(fileURLWithPath: charts ?? FileManager.default.currentDirectoryPath)
            if charts != nil { try createOutputFolder(folder, flag: "--charts", force: force) }
            let lab = LabContext(checkpoint: try modelOptions.checkpoint(), tokenizer: try modelOptions.tokenizer(),
                                 outputDirectory: folder, basePrecision: PrecisionSpec(uniform: .fp32),
                                 commandLine: CommandLine.arguments.joined(separator: " "), overwrite: force, progress: { message in
                FileHandle.standardError.write("  … \(message)\n".data(using: .utf8)!)
            })
            let table = try PaperTable1.measure(in: lab, heldoutTokens: heldoutTokens)
            switch format {
            case .json:
                let encoder = JSONEncoder()
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                emit(String(decoding: try encoder.encode(table), as: UTF8.self))
            case .table:
                emit("Table 1 of Eliseev & Mazur 2023 (arXiv:2312.17238) on \(table.modelName): \(table.tokens) held-out tokens in \(table.windows) windows")
                emit("(hqq4/hqq3: groups of 64, hqq2: groups of 16, 8-bit scales and zero-points; router, embedding and LM head fp32)")
                emit("")
                emit(table.text)
                emit("")
                emit("Δ: perplexity minus the all-fp32 model's; [95% interval] from 1000 paired bootstrap resamples of the windows.")
                emit("Mixtral-8x7B GB: that spec's size in mixtral-lab's formats, from Mixtral-8x7B's shapes (fp32 read as fp16, as the paper runs it).")
                emit("The paper's own figures are not printed: the text of its Table 1 could not be retrieved when this command was written,")
                emit("and figures quoted from memory would be invented; compare with the paper (Table 1, WikiText-2 and C4 perplexity).")
            }
            if charts != nil {
                let chart = table.chart(metadata: lab.metadata(
                    title: "Paper's Table 1 on \(table.modelName): perplexity against size, attention × experts",
                    description: "Held-out perplexity against weight bytes for attention and experts at fp32, hqq4, hqq3, hqq2."))
                try writeChart(chart, file: "perplexity-vs-size.png", in: folder, force: force)
            }
        }
    }
}
