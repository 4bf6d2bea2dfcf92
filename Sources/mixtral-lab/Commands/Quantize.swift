import ArgumentParser
import Foundation
import Checkpoints
import Engine
import Quantization

/// `mixtral-lab quantize`: writes a quantized copy of a checkpoint that `--model DIR` loads directly.
struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a quantized safetensors checkpoint (NF4 in bitsandbytes' layout, int8/q4 as GGML blocks) that --model loads as stored.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var precisionOptions: PrecisionOptions
    @Option(help: "Folder to write config.json, tokenizer.json and model.safetensors into (created if needed).") var output: String
    @Flag(help: "Replace those files if the folder already has them.") var force = false

    func run() throws {
        let checkpoint = try modelOptions.checkpoint()
        let spec = precisionOptions.precision
        do { try QuantizedCheckpointWriter.checkSource(checkpoint) } catch let error as CheckpointWriteError {
            throw ValidationError("--model \(error)")
        }
        try createOutputFolder(URL(fileURLWithPath: output), flag: "--output", force: force)
        let progress = Progress(label: "quantizing \(checkpoint.directory.lastPathComponent) to \(spec)")
        let report: QuantizedCheckpointWriter.Report
        do {
            defer { progress.finish() }
            report = try QuantizedCheckpointWriter.write(checkpoint, precision: spec, to: URL(fileURLWithPath: output),
                                                         overwrite: force) { done, total in progress.update(done, of: total) }
        } catch let error as CheckpointWriteError {
            throw ValidationError("--output \(output): \(error)")
        }
        for file in report.files {
            emit("wrote \(file.url.path)  \(grouped(file.bytes)) bytes")
        }
        emit("")
        func column(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        emit("tensor class  precision  tensors        weights           bytes  bits/weight")
        for total in report.classes {
            emit((total.tensorClass?.rawValue ?? "norm").padding(toLength: 14, withPad: " ", startingAt: 0)
                 + total.precision.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
                 + column(String(total.tensors), 9) + column(grouped(total.weights), 15) + column(grouped(total.bytes), 16)
                 + column(String(format: "%.3f", total.bitsPerWeight), 13))
        }
        emit(String(format: "model.safetensors: %.3f bits/weight over %@ weights (header and companion tensors included)",
                    report.bitsPerWeight, grouped(report.weights) as NSString))
        emit("load it with: mixtral-lab generate --model \(output)")
    }
}
