import ArgumentParser
import Foundation
import Offloading
import Quantization
import Reports
import Tracing

/// `mixtral-lab chart …`: the lessons' charts on demand, as PNG files.
struct ChartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chart",
        abstract: "Draw charts as PNG files (refuses to overwrite without --force; prints every file written).",
        subcommands: [QuantErrorChart.self, RoutingChart.self, TransfersChart.self, HitRateChart.self])

    /// Options every chart subcommand shares.
    struct Output: ParsableArguments {
        @Option(help: "Folder for the PNG files (created if needed).") var out: String
        @Flag(help: "Replace existing files.") var force = false
    }

    struct QuantErrorChart: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "quant-error",
            abstract: "Error histogram per precision, one block's weights with Q4_0 and NF4 levels, NF4 error against block size.")
        @OptionGroup var modelOptions: ModelOptions
        @Option(help: "Weight tensor.") var tensor: String = "model.layers.0.block_sparse_moe.experts.0.w2.weight"
        @Option(help: "Comma-separated precisions for the error histogram.") var precisions: String = "int8,q4,nf4"
        @OptionGroup var output: Output

        func run() throws {
            let list = try parseSinglePrecisionList(precisions)
            let lab = try makeLab(modelOptions, output)
            let quantization = try TensorQuantization(tensor: tensor, precisions: list, in: lab)
            let scales = try BlockScales(tensor: tensor, blocksizes: BlockScales.defaultBlocksizes, in: lab)
            for chart in [quantization.chartQuantizationError, scales.chartBlockLevels, scales.chartSnrVsBits] {
                emit("chart: \(chart.url.path)")
            }
        }
    }

    struct RoutingChart: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "routing", abstract: "Heatmap of one layer's expert choices, token by token.")
        @OptionGroup var modelOptions: ModelOptions
        /// The default prompt; given in the help as escaped text, since ArgumentParser would print its newlines raw.
        static let defaultPrompt = "ROMEO:\nBut soft, what light through yonder window breaks?\n"
        @Option(help: "Text to route (the model's greedy continuation is routed too; default: \(String(reflecting: RoutingChart.defaultPrompt))).")
        var prompt: String?
        @Option(parsing: .unconditional, help: "Layer to show.") var layer: Int = 0
        @Option(parsing: .unconditional, help: "Greedy tokens generated after the prompt.") var maxTokens: Int = 16
        @OptionGroup var output: Output

        func validate() throws {
            guard maxTokens >= 0 else { throw ValidationError("--max-tokens \(maxTokens): must be ≥ 0") }
        }

        func run() throws {
            // before the output folder is made and the model loaded
            let layers = try modelOptions.checkpoint().config.numHiddenLayers
            guard (0..<layers).contains(layer) else {
                throw ValidationError("--layer \(layer): \(RoutingReport.Error.noSuchLayer(layer, layers: layers))")
            }
            let lab = try makeLab(modelOptions, output)
            let routing: RoutingReport
            do { routing = try RoutingReport(prompt: prompt ?? Self.defaultPrompt, layer: layer, token: -1, maxTokens: maxTokens, in: lab) } catch let error as RoutingReport.Error {
                throw ValidationError("--layer \(layer): \(error)")
            }
            emit("chart: \(routing.chartRoutingHeatmap.url.path)")
        }
    }

    struct TransfersChart: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "transfers",
            abstract: "Timeline of the first decode steps of a trace: compute, expert transfers, stalls, hits and misses.")
        @Option(help: ArgumentHelp("A trace.jsonl written by `mixtral-lab trace`.", valueName: "file")) var trace: String
        @OptionGroup var output: Output

        func run() throws {
            let (header, layers) = try readTrace(trace)
            let folder = URL(fileURLWithPath: output.out)
            try createOutputFolder(folder, flag: "--out", force: output.force)
            try writeChart(transferTimelineChart(header: header, layers: layers, source: trace), file: "transfers.png",
                           in: folder, force: output.force)
        }
    }

    struct HitRateChart: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hit-rate", abstract: "Cache hit rate against cache size per policy, from a sweep.json.")
        @Option(help: ArgumentHelp("A sweep.json written by `mixtral-lab trace --sweep`.", valueName: "file")) var sweep: String
        @OptionGroup var output: Output

        func run() throws {
            let summaries = try readTraceSweep(sweep, flag: "--sweep")
            let folder = URL(fileURLWithPath: output.out)
            try createOutputFolder(folder, flag: "--out", force: output.force)
            try writeChart(hitRateChart(summaries, source: sweep, model: nil, precision: nil), file: "hit-rate.png",
                           in: folder, force: output.force)
        }
    }
}

/// The header and layer records of a JSONL trace (token records are skipped).
/// - Throws: `ValidationError` naming the file and line of a missing header, an unknown record type or a
///   record that does not decode.
private func readTrace(_ path: String) throws -> (TraceHeader, [LayerRecord]) {
    let data = try readInputFile(path, flag: "--trace")
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    struct Kind: Decodable { let type: String }
    var header: TraceHeader?
    var layers: [LayerRecord] = []
    for (index, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
        let place = "--trace \(path) line \(index + 1)"
        do {
            let type = try decoder.decode(Kind.self, from: line).type
            switch (type, header) {
            case ("header", nil): header = try decoder.decode(TraceHeader.self, from: line)
            case ("header", _): throw ValidationError("\(place): a second header")
            case (_, nil): throw ValidationError("\(place): expected the header first (is this a trace.jsonl from `mixtral-lab trace`?)")
            case ("layer", _): layers.append(try decoder.decode(LayerRecord.self, from: line))
            case ("token", _): continue
            default: throw ValidationError("\(place): unknown record type \"\(type)\"")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(place): not a trace record (\(decodingProblem(error)))")
        }
    }
    guard let header else { throw ValidationError("--trace \(path): empty file, no header") }
    return (header, layers)
}

/// A lab context writing into `--out`, refusing to replace files unless `--force`.
func makeLab(_ model: ModelOptions, _ output: ChartCommand.Output, precision: PrecisionSpec = PrecisionSpec(uniform: .fp32)) throws -> LabContext {
    let folder = URL(fileURLWithPath: output.out)
    try createOutputFolder(folder, flag: "--out", force: output.force)
    return LabContext(checkpoint: try model.checkpoint(), tokenizer: try model.tokenizer(), outputDirectory: folder,
                      basePrecision: precision, commandLine: CommandLine.arguments.joined(separator: " "), overwrite: output.force,
                      progress: { message in note("  … \(message)") })
}
