import ArgumentParser
import Foundation
import Checkpoints
import Quantization
import Tensors

/// `mixtral-lab quant-error`: per tensor and precision, how far the quantized weight is from the original.
struct QuantErrorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quant-error",
        abstract: "Quantization error per weight tensor and precision: MSE, max |error|, SNR (dB), relative Frobenius error, bits per weight.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Comma-separated precisions.") var precisions: String = "int8,q4,nf4"
    @Option(help: "Shell-style pattern of tensor names, e.g. \"*experts.0.*\" (default: every 2-D weight).") var tensors: String = "*"
    @Option(help: "Output: table, json or csv.") var format: TableFormat = .table

    enum TableFormat: String, ExpressibleByArgument, CaseIterable { case table, json, csv }

    func run() throws {
        let list = try parseSinglePrecisionList(precisions)
        let checkpoint = try modelOptions.checkpoint()
        let names = checkpoint.tensorNames.filter { name in
            guard let info = checkpoint.info(name), info.shape.count == 2 else { return false }
            return fnmatch(tensors, name, 0) == 0
        }
        guard !names.isEmpty else { throw ValidationError("--tensors \"\(tensors)\" matches no 2-D weight tensor of \(checkpoint.directory.path)") }
        let progress = Progress(label: "quantizing")
        var rows: [(tensor: String, precision: Precision, error: ErrorMetrics)] = []
        for (i, name) in names.enumerated() {
            let info = checkpoint.info(name)!
            let weight = try checkpoint.matrix(name, rows: info.shape[0], cols: info.shape[1])
            for precision in list {
                rows.append((name, precision, ErrorMetrics(original: weight, quantized: try quantize(weight, to: precision, tensorName: name))))
            }
            progress.update(i + 1, of: names.count)
        }
        progress.finish()
        switch format {
        case .json:
            let objects: [[String: Any]] = rows.map { row in
                ["tensor": row.tensor, "precision": row.precision.rawValue, "mse": row.error.mse, "max_abs_error": row.error.maxAbsError,
                 "snr_db": row.error.snrDB.isFinite ? row.error.snrDB : NSNull(), "relative_frobenius": row.error.relativeFrobenius,
                 "bits_per_weight": row.error.bitsPerWeight]
            }
            emit(String(decoding: try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys]), as: UTF8.self))
        case .csv:
            emit("tensor,precision,mse,max_abs_error,snr_db,relative_frobenius,bits_per_weight")
            for row in rows {
                emit("\(row.tensor),\(row.precision.rawValue),\(row.error.mse),\(row.error.maxAbsError),\(row.error.snrDB),\(row.error.relativeFrobenius),\(row.error.bitsPerWeight)")
            }
        case .table:
            let width = max(30, (names.map(\.count).max() ?? 0) + 2)
            let precisionWidth = max(9, list.map(\.rawValue.count).max() ?? 0)   // hqq4-f16meta is 12
            emit("tensor".padding(toLength: width, withPad: " ", startingAt: 0)
                 + "precision".padding(toLength: precisionWidth, withPad: " ", startingAt: 0) + "   bits/w        MSE   max|err|  SNR (dB)  rel. error")
            for row in rows {
                emit(row.tensor.padding(toLength: width, withPad: " ", startingAt: 0)
                     + row.precision.rawValue.padding(toLength: precisionWidth, withPad: " ", startingAt: 0)
                     + String(format: " %7.3f %10.3e %10.3e %9.2f %11.5f", row.error.bitsPerWeight, row.error.mse, row.error.maxAbsError, row.error.snrDB, row.error.relativeFrobenius))
            }
        }
    }
}
