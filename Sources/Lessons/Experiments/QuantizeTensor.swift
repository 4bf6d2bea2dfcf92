import Foundation
import Tensors
import Quantization
import Charts

/// Lesson 1's experiment: one real weight matrix stored at several precisions — bits, bytes, error, and
/// what happens to the first few weights of the first block.
struct QuantizeTensorExperiment: Experiment {
    static let name = "quantize-tensor"
    static let summary = "Quantize one weight matrix to each precision: memory, error metrics, the first weights before and after."
    /// It reads one tensor from the checkpoint (`LabContext.weight(_:)`).
    static let loadsModel = false
    static let parameters = [
        ParameterSpec("tensor", .text, "checkpoint tensor name", default: "model.layers.0.block_sparse_moe.experts.0.w1.weight"),
        ParameterSpec("precisions", .list, "precisions to compare with fp32", default: ["int8", "q4"]),
    ]
    /// Per precision (e.g. `q4`): bits, bytes, ratio (against fp32), ratio_checkpoint (against the checkpoint's
    /// stored dtype, bf16 for the default model), mse, snr_db, max_error, rel_error.
    static let resultKeys = ["tensor", "shape", "weights", "fp32_bytes", "checkpoint_bytes", "checkpoint_dtype", "table", "examples",
                             "block_absmax", "*"]

    let tensor: String
    let precisions: [Precision]

    init(_ parameters: ExperimentParameters) throws {
        tensor = parameters.text("tensor")
        precisions = try parameters.precisions("precisions")
    }

    func run(in lab: LabContext) throws -> ExperimentResult {
        let weight = try lab.weight(tensor)
        // What the checkpoint stores (bf16 for the default model and for Mixtral's): the size a reader downloads.
        let stored = lab.checkpoint.info(tensor)!.dtype
        let checkpointBytes = weight.values.count * stored.byteSize
        let storedName = stored.rawValue.lowercased()
        // The first block of 32 weights (GGML's block size): its absmax sets the level spacing of int8 and q4.
        let blockAbsmax = Double(weight.values.prefix(32).map { abs($0) }.max() ?? 0)
        var values: [String: Any] = [
            "tensor": tensor, "shape": "[\(weight.rows), \(weight.cols)]", "weights": weight.values.count,
            "fp32_bytes": weight.byteCount, "block_absmax": blockAbsmax,
            "checkpoint_bytes": checkpointBytes, "checkpoint_dtype": storedName,
        ]
        // Spacing between neighbouring levels in that block: Q8_0 d = absmax/127, Q4_0 |d| = absmax/8.
        let levelStep: [Precision: Double] = [.int8: blockAbsmax / 127, .q4: blockAbsmax / 8]
        var table = MarkdownTable(["precision", "bits/weight", "size", "vs fp32", "vs the \(storedName) checkpoint", "SNR (dB)", "relative error", "max |error|"])
        table.rows.append(["fp32", "32", formatBytes(Double(weight.byteCount)), "1×",
                           String(format: "%.1f× larger", Double(weight.byteCount) / Double(checkpointBytes)), "∞", "0", "0"])
        var examples = MarkdownTable(["weight #", "fp32"] + precisions.map(\.rawValue))
        var decodedRows: [[Float]] = []
        var errorSeries: [ErrorSeries] = []
        for precision in precisions {
            let quantized = try quantize(weight, to: precision, tensorName: tensor)
            let decoded = quantized.dequantized()
            let error = ErrorMetrics(original: weight, decoded: decoded, bitsPerWeight: quantized.bitsPerWeight)
            values[precision.rawValue] = [
                "bits": quantized.bitsPerWeight, "bytes": quantized.byteCount,
                "ratio": Double(weight.byteCount) / Double(quantized.byteCount),
                "ratio_checkpoint": Double(checkpointBytes) / Double(quantized.byteCount),
                "mse": error.mse, "snr_db": error.snrDB, "max_error": error.maxAbsError, "rel_error": error.relativeFrobenius,
                "step": levelStep[precision] ?? Double.nan,
            ]
            table.rows.append([precision.rawValue, String(format: "%.2f", quantized.bitsPerWeight),
                               formatBytes(Double(quantized.byteCount)),
                               String(format: "%.1f× smaller", Double(weight.byteCount) / Double(quantized.byteCount)),
                               String(format: "%.1f× smaller", Double(checkpointBytes) / Double(quantized.byteCount)),
                               String(format: "%.1f", error.snrDB), String(format: "%.4f", error.relativeFrobenius),
                               String(format: "%.5f", error.maxAbsError)])
            decodedRows.append(Array(decoded.values.prefix(6)))
            errorSeries.append(ErrorSeries(name: precision.rawValue, errors: zip(decoded.values, weight.values).map { $0 - $1 }))
        }
        for i in 0..<min(6, weight.values.count) {
            // (+0 turns a decoded −0 into 0: q·d with q = 0 and a negative scale.)
            examples.rows.append(["\(i)", String(format: "%+.5f", weight.values[i])] + decodedRows.map { String(format: "%+.5f", $0[i] + 0) })
        }
        values["table"] = table.description
        values["examples"] = examples.description

        let names = precisions.map(\.rawValue).joined(separator: ", ")
        let histogram = ErrorHistogramChart(
            metadata: lab.metadata(title: "Quantization error of \(tensor)",
                                   description: "Histogram of dequantized − original weight for \(names).", precision: names),
            series: errorSeries, logScale: true, xLabel: "dequantized − original weight (unitless)")
        let chart = try lab.write(histogram, file: "quantization-error.png", caption: "Error of every weight of \(tensor), per precision")
        return ExperimentResult(values: values, charts: [chart])
    }
}
