import ArgumentParser
import Foundation
import Checkpoints
import Engine
import Quantization
import Tensors

/// `mixtral-lab quantize`: writes a quantized copy of a checkpoint that `--model DIR` loads directly.
struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a quantized safetensors checkpoint (NF4 in bitsandbytes' layout, int8/q4 as GGML blocks, HQQ as packed codes with their scales and zero-points) that --model loads as stored.",
        discussion: "experts=gptq4 and experts=awq4 calibrate the experts on the last --calibration-tokens tokens of --calibration-text (default: heldout.txt beside the checkpoint, 4096 tokens) and record that text (path, SHA-256, bytes), its size in tokens and the method's settings in the checkpoint; `mixtral-lab info --model OUTPUT` shows them.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var precisionOptions: PrecisionOptions
    @Option(help: "Folder to write config.json, tokenizer.json and model.safetensors into (created if needed).") var output: String
    @Flag(help: "Replace those files if the folder already has them.") var force = false
    @Option(help: ArgumentHelp("Text to calibrate gptq4/awq4 experts on (default: heldout.txt beside the checkpoint).", valueName: "file"))
    var calibrationText: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Calibration tokens, the text's last (default: \(CalibrationText.defaultTokens)).", valueName: "n"))
    var calibrationTokens: Int?

    /// The calibration text gptq4/awq4 experts need, nil at other precisions; every problem named by its flag.
    func calibration(_ checkpoint: Checkpoint, _ spec: PrecisionSpec) throws -> CalibrationText? {
        let method = spec.precision(for: .experts)
        guard method.needsCalibration else {
            if calibrationText != nil || calibrationTokens != nil {
                let flag = calibrationText != nil ? "--calibration-text" : "--calibration-tokens"
                throw ValidationError("\(flag) applies only to calibrated experts (--precision experts=gptq4 or experts=awq4); --precision \(spec) calibrates nothing")
            }
            return nil
        }
        let count = calibrationTokens ?? CalibrationText.defaultTokens
        guard count >= 1 else { throw ValidationError("--calibration-tokens \(count): at least 1 calibration token is needed") }
        let path = calibrationText ?? checkpoint.folder.appendingPathComponent(CalibrationText.heldoutFile).path
        let flag = calibrationText == nil ? "--calibration-text (default: \(CalibrationText.heldoutFile) beside the checkpoint)" : "--calibration-text"
        let data = try readInputFile(path, flag: flag)
        do {
            return try CalibrationText(data: data, path: path, tokenizer: try CalibrationText.tokenizer(beside: checkpoint, for: method), tokens: count)
        } catch let error as CalibrationTextError {
            switch error {
            case .tooShort(_, let has, let asked):
                throw ValidationError("--calibration-text \(path): has \(has) tokens, fewer than the \(asked) --calibration-tokens asks for; pass a longer text or --calibration-tokens \(has) or less")
            case .tokenCount, .notText, .empty:
                throw ValidationError("--calibration-text \(error)")
            }
        }
    }

    func run() throws {
        let checkpoint = try modelOptions.checkpoint()
        let spec = precisionOptions.precision
        do { try QuantizedCheckpointWriter.checkSource(checkpoint) } catch let error as CheckpointWriteError {
            throw ValidationError("--model \(error)")
        }
        // as export's --output: the folder the checkpoint goes into is made, a missing parent is a typo
        try createOutputFolder(URL(fileURLWithPath: output), flag: "--output", force: force)
        let calibration = try calibration(checkpoint, spec)
        // The BLAS threads loading uses, so that calibrated experts come out as a model loaded at the same
        // --precision calibrates them in memory (fp32 sums may round differently with other thread counts).
        setBLASThreads(recommendedBLASThreads(checkpoint.config))
        let progress = Progress(label: "quantizing \(checkpoint.directory.lastPathComponent) to \(spec)")
        let report: QuantizedCheckpointWriter.Report
        do {
            defer { progress.finish() }
            report = try QuantizedCheckpointWriter.write(checkpoint, precision: spec, to: URL(fileURLWithPath: output),
                                                         overwrite: force, calibration: calibration) { done, total in progress.update(done, of: total) }
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
        if let calibration {
            emit("experts calibrated: " + calibration.record(method: spec.precision(for: .experts), config: checkpoint.config).summary)
        }
        emit("load it with: mixtral-lab generate --model \(output)")
    }
}
