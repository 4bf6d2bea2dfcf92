import Foundation
import Tensors
import Quantization
import Charts

/// One real weight matrix stored at several precisions — bits, bytes, error, and what happens to the first
/// few weights of the first block (lesson 1, `mixtral-lab chart quant-error`).
public struct TensorQuantization: Codable {
    /// What one precision did to the matrix.
    public struct PrecisionError: Codable {
        /// Bits per weight, scales included.
        public let bits: Double
        public let bytes: Int
        /// fp32 bytes / these bytes.
        public let ratio: Double
        /// The checkpoint's stored bytes (bf16 for the default model) / these bytes.
        public let ratioCheckpoint: Double
        public let mse: Double
        public let snrDB: Double
        public let maxError: Double
        public let relError: Double
        /// Spacing between neighbouring levels in the first block (int8, q4; NaN for the others).
        public let step: Double

        enum CodingKeys: String, CodingKey {
            case bits, bytes, ratio, ratioCheckpoint = "ratio_checkpoint", mse, snrDB = "snr_db", maxError = "max_error",
                 relError = "rel_error", step
        }
    }

    public let tensor: String
    /// `[rows, cols]` as text.
    public let shape: String
    public let weights: Int
    public let fp32Bytes: Int
    /// Bytes as the checkpoint stores it, and its dtype (`bf16`).
    public let checkpointBytes: Int
    public let checkpointDtype: String
    /// Absmax of the first block of 32 weights.
    public let blockAbsmax: Double
    /// Per precision name (`q4`): its error.
    public let precisions: [String: PrecisionError]
    /// Markdown: every precision against fp32.
    public let table: String
    /// Markdown: the first six weights before and after.
    public let examples: String
    public let chartQuantizationError: ChartFile

    enum CodingKeys: String, CodingKey {
        case tensor, shape, weights, fp32Bytes = "fp32_bytes", checkpointBytes = "checkpoint_bytes",
             checkpointDtype = "checkpoint_dtype", blockAbsmax = "block_absmax", precisions, table, examples,
             chartQuantizationError = "chart_quantization_error"
    }

    /// Quantizes `tensor` of the lab's checkpoint to each of `precisions` and writes `quantization-error.png`.
    /// - Throws: `CheckpointError` for a missing or non-2-D tensor; `QuantizeError` for a shape a format
    ///   cannot store; `ChartError` when the chart may not be written.
    public init(tensor: String, precisions: [Precision], in lab: LabContext) throws {
        let weight = try lab.weight(tensor)
        // What the checkpoint stores (bf16 for the default model and for Mixtral's): the size a reader downloads.
        let stored = lab.checkpoint.info(tensor)!.dtype
        let checkpointBytes = weight.values.count * stored.byteSize
        let storedName = stored.rawValue.lowercased()
        // The first block of 32 weights (GGML's block size): its absmax sets the level spacing of int8 and q4.
        let blockAbsmax = Double(weight.values.prefix(32).map { abs($0) }.max() ?? 0)
        // Spacing between neighbouring levels in that block: Q8_0 d = absmax/127, Q4_0 |d| = absmax/8.
        let levelStep: [Precision: Double] = [.int8: blockAbsmax / 127, .q4: blockAbsmax / 8]
        var table = MarkdownTable(["precision", "bits/weight", "size", "vs fp32", "vs the \(storedName) checkpoint", "SNR (dB)", "relative error", "max |error|"])
        table.rows.append(["fp32", "32", formatBytes(Double(weight.byteCount)), "1×",
                           String(format: "%.1f× larger", Double(weight.byteCount) / Double(checkpointBytes)), "∞", "0", "0"])
        var examples = MarkdownTable(["weight #", "fp32"] + precisions.map(\.rawValue))
        var byPrecision: [String: PrecisionError] = [:]
        var decodedRows: [[Float]] = []
        var errorSeries: [ErrorSeries] = []
        for precision in precisions {
            let quantized = try quantize(weight, to: precision, tensorName: tensor)
            let decoded = quantized.dequantized()
            let error = ErrorMetrics(original: weight, decoded: decoded, bitsPerWeight: quantized.bitsPerWeight)
            byPrecision[precision.rawValue] = PrecisionError(
                bits: quantized.bitsPerWeight, bytes: quantized.byteCount,
                ratio: Double(weight.byteCount) / Double(quantized.byteCount),
                ratioCheckpoint: Double(checkpointBytes) / Double(quantized.byteCount),
                mse: error.mse, snrDB: error.snrDB, maxError: error.maxAbsError, relError: error.relativeFrobenius,
                step: levelStep[precision] ?? Double.nan)
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
        self.tensor = tensor
        shape = "[\(weight.rows), \(weight.cols)]"
        weights = weight.values.count
        fp32Bytes = weight.byteCount
        self.checkpointBytes = checkpointBytes
        checkpointDtype = storedName
        self.blockAbsmax = blockAbsmax
        self.precisions = byPrecision
        self.table = table.description
        self.examples = examples.description

        let names = precisions.map(\.rawValue).joined(separator: ", ")
        let histogram = ErrorHistogramChart(
            metadata: lab.metadata(title: "Quantization error of \(tensor)",
                                   description: "Histogram of dequantized − original weight for \(names).", precision: names),
            series: errorSeries, logScale: true, xLabel: "dequantized − original weight (unitless)")
        chartQuantizationError = try lab.write(histogram, file: "quantization-error.png", caption: "Error of every weight of \(tensor), per precision")
    }
}
