import ArgumentParser
import Foundation
import Lessons
import Quantization

/// `mixtral-lab chart …`: the lessons' charts on demand, as PNG files.
struct ChartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chart",
        abstract: "Draw charts as PNG files (refuses to overwrite without --force; prints every file written).",
        subcommands: [QuantErrorChart.self, RoutingChart.self])

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
            let lab = try makeLab(modelOptions, output)
            let list = precisions.split(separator: ",").map(String.init)
            let charts = try ExperimentCatalog.run("quantize-tensor", parameters: ["tensor": tensor, "precisions": list], in: lab).charts
                + ExperimentCatalog.run("block-scales", parameters: ["tensor": tensor], in: lab).charts
            charts.forEach { emit($0.url.path) }
        }
    }

    struct RoutingChart: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "routing", abstract: "Heatmap of one layer's expert choices, token by token.")
        @OptionGroup var modelOptions: ModelOptions
        @Option(help: "Text to route (the model's greedy continuation is routed too).") var prompt: String = "ROMEO:\nBut soft, what light through yonder window breaks?\n"
        @Option(help: "Layer to show.") var layer: Int = 0
        @Option(help: "Greedy tokens generated after the prompt.") var maxTokens: Int = 16
        @OptionGroup var output: Output

        func run() throws {
            let lab = try makeLab(modelOptions, output)
            let result = try ExperimentCatalog.run("routing", parameters: ["prompt": prompt, "layer": layer, "max_tokens": maxTokens], in: lab)
            result.charts.forEach { emit($0.url.path) }
        }
    }
}

/// A lab context writing into `--out`, refusing to replace files unless `--force`.
func makeLab(_ model: ModelOptions, _ output: ChartCommand.Output, precision: PrecisionSpec = PrecisionSpec(uniform: .fp32)) throws -> LabContext {
    let folder = URL(fileURLWithPath: output.out)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return LabContext(checkpoint: try model.checkpoint(), tokenizer: try model.tokenizer(), outputDirectory: folder,
                      basePrecision: precision, commandLine: CommandLine.arguments.joined(separator: " "), overwrite: output.force) { message in
        FileHandle.standardError.write("  … \(message)\n".data(using: .utf8)!)
    }
}
