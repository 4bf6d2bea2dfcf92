import ArgumentParser
import Foundation
import Checkpoints
import Engine

extension GGUFExportPrecision: ExpressibleByArgument {}

/// `mixtral-lab export`: writes the model as a GGUF file that llama.cpp and Ollama run (`GGUFExport`).
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the model as a GGUF file in llama.cpp's layout (stacked experts, permuted q/k), at fp32, f16, bf16, int8 (Q8_0) or q4 (Q4_0).")

    enum Format: String, ExpressibleByArgument, CaseIterable { case gguf }

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Output format.") var format: Format = .gguf
    @Option(help: "Precision of the weight matrices (norms and the router stay F32).") var precision: GGUFExportPrecision = .fp32
    @Option(help: "The GGUF file to write.") var output: String
    @Flag(help: "Replace the output file if it exists.") var force = false

    func run() throws {
        let checkpoint = try modelOptions.checkpoint()
        // packed tensors (what quantize writes) would fail one by one as shapes that do not match the config
        if checkpoint.gguf == nil, let packed = checkpoint.tensorNames.first(where: { checkpoint.info($0)?.dtype == .u8 }) {
            let stored = checkpoint.storedPrecision(packed).map { " as \($0)" } ?? ""
            throw ValidationError("--model \(checkpoint.directory.path): export needs a checkpoint with float weights; this one stores \(packed) packed\(stored) (written by mixtral-lab quantize or bitsandbytes): export the float checkpoint it was made from")
        }
        let url = URL(fileURLWithPath: output)
        let progress = Progress(label: "exporting \(checkpoint.directory.lastPathComponent) to GGUF at \(precision.rawValue)")
        let report: GGUFExport.Report
        do {
            defer { progress.finish() }
            report = try GGUFExport.write(checkpoint, precision: precision, to: url, overwrite: force) { done, total in
                progress.update(done, of: total)
            }
        } catch let error as CheckpointWriteError {
            throw ValidationError("--output \(output): \(error)")
        }
        emit("wrote \(report.url.path)  \(grouped(report.bytes)) bytes")
        emit("tensors: " + report.tensorsByType.map { "\($0.count) \($0.type)" }.joined(separator: ", "))
        emit("load it with: mixtral-lab generate --model \(output)   (or llama.cpp: llama-cli -m \(output))")
    }
}
