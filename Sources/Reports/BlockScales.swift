import Foundation
import Tensors
import Quantization
import Charts

/// Why scales are per block, and why NF4's levels follow a normal distribution (lesson 2, `mixtral-lab chart
/// quant-error`): outlier statistics of a real weight matrix; one 4-bit scale for the whole tensor against
/// per-block scales (Q4_0, blocks of 32) and NF4 (blocks of 64); NF4 over a sweep of block sizes.
public struct BlockScales: Codable {
    /// One scheme's error on the matrix.
    public struct Scheme: Codable {
        public let snrDB: Double
        public let relError: Double
        /// Bits per weight, scales included.
        public let bits: Double
        public let maxError: Double

        init(_ e: ErrorMetrics) {
            snrDB = e.snrDB
            relError = e.relativeFrobenius
            bits = e.bitsPerWeight
            maxError = e.maxAbsError
        }

        enum CodingKeys: String, CodingKey { case snrDB = "snr_db", relError = "rel_error", bits, maxError = "max_error" }
    }

    /// NF4 block sizes swept unless a caller chooses others.
    public static let defaultBlocksizes = [32, 64, 128, 256, 1024, 4096]

    public let tensor: String
    /// Standard deviation and largest magnitude of the weights, and their ratio.
    public let std: Double
    public let absmax: Double
    public let absmaxOverStd: Double
    /// Share of weights more than 3 standard deviations from the mean.
    public let beyond3Sigma: Double
    public let kurtosis: Double
    /// int4 with one scale for the tensor; Q4_0 (blocks of 32); NF4 (blocks of 64); NF4 with blocks of 32.
    public let perTensor: Scheme
    public let q4: Scheme
    public let nf4: Scheme
    public let nf4At32: Scheme
    /// One sentence comparing NF4 and Q4_0 on the same blocks of 32.
    public let sameBlockVerdict: String
    /// Markdown tables: the four schemes; NF4 over block sizes.
    public let table: String
    public let sweep: String
    /// Absmax of the first block of 64 weights (the chart's block).
    public let blockAbsmax: Double
    public let chartBlockLevels: ChartFile
    public let chartSnrVsBits: ChartFile

    enum CodingKeys: String, CodingKey {
        case tensor, std, absmax, absmaxOverStd = "absmax_over_std", beyond3Sigma = "beyond_3sigma", kurtosis,
             perTensor = "per_tensor", q4, nf4, nf4At32 = "nf4_32", sameBlockVerdict = "same_block_verdict", table, sweep,
             blockAbsmax = "block_absmax", chartBlockLevels = "chart_block_levels", chartSnrVsBits = "chart_snr_vs_bits"
    }

    /// Measures `tensor` of the lab's checkpoint, NF4 at each of `blocksizes` (`NF4.validBlocksizes`), and
    /// writes `block-levels.png` and `snr-vs-bits.png`.
    /// - Throws: `CheckpointError` for a missing or non-2-D tensor; `QuantizeError`; `ChartError`.
    public init(tensor: String, blocksizes: [Int], in lab: LabContext) throws {
        let weight = try lab.weight(tensor)
        let w = weight.values.map(Double.init)
        let n = Double(w.count)
        let mean = w.reduce(0, +) / n
        let variance = w.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
        let std = variance.squareRoot()
        let fourth = w.reduce(0) { $0 + pow($1 - mean, 4) } / n
        let absmax = w.map(abs).max() ?? 0
        self.tensor = tensor
        self.std = std
        self.absmax = absmax
        absmaxOverStd = absmax / std
        beyond3Sigma = Double(w.filter { abs($0 - mean) > 3 * std }.count) / n
        kurtosis = fourth / (variance * variance)

        // One symmetric 4-bit scale for the whole tensor (levels −8…7 × absmax/7): what blocks avoid.
        let scale = Float(absmax / 7)
        let perTensor = Matrix(rows: weight.rows, cols: weight.cols,
                               values: weight.values.map { scale == 0 ? 0 : max(-8, min(7, ($0 / scale).rounded())) * scale })
        let perTensorError = ErrorMetrics(original: weight, decoded: perTensor, bitsPerWeight: 4 + 32 / n)
        let q4 = try quantize(weight, to: .q4, tensorName: tensor)
        let nf4 = try quantize(weight, to: .nf4, tensorName: tensor)
        let q4Error = ErrorMetrics(original: weight, quantized: q4)
        let nf4Error = ErrorMetrics(original: weight, quantized: nf4)
        // NF4 with Q4_0's block of 32: the same block, so only the levels (and the 32-bit absmax) differ.
        let nf4At32Error = ErrorMetrics(original: weight, quantized: try NF4Matrix(quantizing: weight, tensorName: tensor, blocksize: 32))
        self.perTensor = Scheme(perTensorError)
        self.q4 = Scheme(q4Error)
        self.nf4 = Scheme(nf4Error)
        nf4At32 = Scheme(nf4At32Error)
        let gap = nf4At32Error.snrDB - q4Error.snrDB
        sameBlockVerdict = abs(gap) < 0.1
            ? String(format: "On the same blocks of 32, NF4 and Q4_0 are level (%.1f against %.1f dB): on this matrix the block size, not the shape of the levels, decides", nf4At32Error.snrDB, q4Error.snrDB)
            : (gap > 0
                ? String(format: "On the same blocks of 32, NF4 reaches %.1f dB against Q4_0's %.1f (at %.2f bits, its fp32 absmax costing 1 bit per weight against Q4_0's 0.5): its levels are better, the longer block is what loses", nf4At32Error.snrDB, q4Error.snrDB, nf4At32Error.bitsPerWeight)
                : String(format: "Even on the same blocks of 32, NF4 reaches only %.1f dB against Q4_0's %.1f: on this matrix Q4_0's levels fit better too", nf4At32Error.snrDB, q4Error.snrDB))
        var table = MarkdownTable(["scheme", "scale per", "bits/weight", "SNR (dB)", "relative error"])
        for (scheme, per, e) in [("int4, one scale", "whole tensor", perTensorError), ("q4 (Q4_0)", "32 weights", q4Error),
                                 ("nf4 (bitsandbytes default)", "64 weights", nf4Error), ("nf4, Q4_0's block", "32 weights", nf4At32Error)] {
            table.rows.append([scheme, per, String(format: "%.3f", e.bitsPerWeight), String(format: "%.1f", e.snrDB),
                               String(format: "%.4f", e.relativeFrobenius)])
        }
        self.table = table.description

        // NF4 block-size sweep.
        var sweep = MarkdownTable(["NF4 block size", "bits/weight", "SNR (dB)"])
        var snr: [Double] = [], bits: [Double] = []
        for size in blocksizes {
            let e = ErrorMetrics(original: weight, quantized: try NF4Matrix(quantizing: weight, tensorName: tensor, blocksize: size))
            snr.append(e.snrDB)
            bits.append(e.bitsPerWeight)
            sweep.rows.append(["\(size)", String(format: "%.3f", e.bitsPerWeight), String(format: "%.2f", e.snrDB)])
        }
        self.sweep = sweep.description

        // The first block of 64 weights with both level sets: Q4_0's 16 evenly spaced levels d·(q − 8)
        // (d from the block's value of largest magnitude, as Q4_0 computes it) and NF4's codebook × absmax.
        let block = Array(weight.values.prefix(64))
        let blockAbsmax = block.map { abs($0) }.max() ?? 0
        self.blockAbsmax = Double(blockAbsmax)
        let signedMax = block.max { abs($0) < abs($1) } ?? 0
        let d = signedMax / -8
        let q4Levels = (0..<16).map { Float($0 - 8) * d }
        let histogram = WeightHistogramChart(
            metadata: lab.metadata(title: "64 weights of \(shortName(tensor)) and the 16 levels of Q4_0 and NF4",
                                   description: "The first 64 weights (one NF4 block) with a uniform Q4_0-style grid from their largest weight and NF4's codebook scaled to their absmax.",
                                   precision: "q4, nf4"),
            weights: block,
            levelSets: [LevelSet(name: "Q4_0-style uniform levels", levels: q4Levels),
                        LevelSet(name: "NF4 levels: normal quantiles × absmax", levels: NF4.codebook.map { $0 * blockAbsmax })],
            binCount: 32)
        // SNR against bits per weight: the trade every format makes. NF4 over its block sizes is a line (fewer
        // bits = bigger blocks), Q4_0 and one-scale int4 are single points.
        let tradeChart = LineChart(
            metadata: lab.metadata(title: "4-bit formats: error against storage cost on \(shortName(tensor))",
                                   description: "Signal-to-noise ratio against bits per weight (4-bit codes plus scales): NF4 at block sizes \(blocksizes.map(String.init).joined(separator: ", ")) (left: largest block), Q4_0 (blocks of 32, fp16 scale), int4 with one scale for the tensor.",
                                   precision: "q4, nf4"),
            series: [LineSeries(name: "NF4, block sizes \(blocksizes.max()!) … \(blocksizes.min()!) (left to right)", x: bits, y: snr),
                     LineSeries(name: "Q4_0 (block 32)", x: [q4Error.bitsPerWeight], y: [q4Error.snrDB]),
                     LineSeries(name: "int4, one scale", x: [perTensorError.bitsPerWeight], y: [perTensorError.snrDB])],
            xLabel: "bits per weight (codes + scales)", yLabel: "SNR (dB, higher is better)")
        chartBlockLevels = try lab.write(histogram, file: "block-levels.png", caption: "One block of real weights with Q4_0 and NF4 levels")
        chartSnrVsBits = try lab.write(tradeChart, file: "snr-vs-bits.png", caption: "SNR against bits per weight: NF4 by block size, Q4_0, one-scale int4")
    }
}

/// A weight's name for a chart title: "model.layers.0.block_sparse_moe.experts.0.w2.weight" →
/// "layer 0 expert 0 w2".
private func shortName(_ tensor: String) -> String {
    tensor.replacingOccurrences(of: "model.layers.", with: "layer ")
        .replacingOccurrences(of: ".block_sparse_moe.experts.", with: " expert ")
        .replacingOccurrences(of: ".weight", with: "")
        .replacingOccurrences(of: ".", with: " ")
}
