import Foundation
import Checkpoints
import Engine
import Quantization
import Offloading
import Charts

/// Table 1 of Eliseev & Mazur 2023 ("Fast Inference of Mixture-of-Experts Language Models with
/// Offloading", arXiv:2312.17238) reproduced on a model: attention × experts at fp32 (the paper's
/// fp16), HQQ 4, 3 and 2 bits (`hqq4`, `hqq3`, `hqq2`: the paper's group sizes and 8-bit scales and
/// zero-points), every other weight (router, embedding, LM head) fp32. Per cell: the bytes of the model's
/// weights, bits per weight over all of them, held-out perplexity and its difference from the all-fp32
/// model with a 95% t interval over the held-out windows (`pairedInterval`). Reference rows put attention and experts both at `q4`, `nf4` and
/// `int8`.
///
/// Beside ours, each grid row gives the size Mixtral-8x7B would have at that spec in mixtral-lab's formats
/// (computed from its shapes, unquantized weights in fp16 as in the paper) and the paper's own figures for
/// that cell (`PaperFigures.table1`: size in GB, WikiText-2 and C4 perplexity, 5-shot MMLU).
public struct PaperTable1: Sendable, Encodable {
    /// The grid's precisions, in the paper's order.
    public static let gridPrecisions: [Precision] = [.fp32, .hqq4, .hqq3, .hqq2]
    /// Reference rows: attention and experts both at one of these.
    public static let referencePrecisions: [Precision] = [.q4, .nf4, .int8]

    public struct Row: Sendable, Encodable {
        public let attention: String
        public let experts: String
        /// Bytes of all weights (norms included) as loaded.
        public let bytes: Int
        /// `8 · bytes / weights` over every weight of the model.
        public let bitsPerWeight: Double
        /// Bits per weight of the expert weights alone.
        public let expertBitsPerWeight: Double
        public let perplexity: Double
        /// Perplexity minus the all-fp32 model's.
        public let deltaPerplexity: Double
        /// 95% interval of `deltaPerplexity` over the held-out windows (`pairedInterval`; nil with fewer
        /// than two windows).
        public let deltaLow: Double?
        public let deltaHigh: Double?
        /// Mixtral-8x7B's weights at this spec in GB (10⁹ bytes), computed from its shapes.
        public let mixtralGB: Double
        /// The paper's figures for this cell (nil for the reference rows, which the paper has not).
        public let paper: PaperFigures.Table1Cell?
    }

    /// The 16 cells, attention-major (attention fp32 with experts fp32, hqq4, hqq3, hqq2; then attention
    /// hqq4 …).
    public let cells: [Row]
    /// The reference rows.
    public let references: [Row]
    /// Tokens of held-out text predicted per model, and in how many windows.
    public let tokens: Int
    public let windows: Int
    public let modelName: String

    /// Measures every cell on `lab`'s model, `heldoutTokens` tokens of its held-out text.
    /// - Throws: what loading the model, quantizing it or running it throws; `CheckpointError` when the
    ///   model has no held-out text.
    public static func measure(in lab: LabContext, heldoutTokens: Int) throws -> PaperTable1 {
        let windows = try lab.heldoutWindows(limit: heldoutTokens).filter { $0.count >= 2 }
        var baseline: [Double] = []
        var baselinePerplexity = 0.0
        func row(attention: Precision, experts: Precision) throws -> Row {
            let spec = PrecisionSpec([.attention: attention, .experts: experts])
            lab.progress("attention \(attention.rawValue), experts \(experts.rawValue)")
            let model = try lab.model(spec)
            // per window: negative log-likelihood sum and predicted tokens, for the interval
            let perWindow = try windows.map { window -> (nll: Double, tokens: Int) in
                let result = try Perplexity.evaluate(model: model, windows: [window])
                return (log(result.perplexity) * Double(result.tokens), result.tokens)
            }
            let nll = perWindow.map(\.nll), counts = perWindow.map(\.tokens)
            let perplexity = exp(nll.reduce(0, +) / Double(counts.reduce(0, +)))
            if baseline.isEmpty { baseline = nll; baselinePerplexity = perplexity }
            let (low, high) = pairedInterval(nll, baseline, counts: counts)
            let footprint = ModelFootprint(model: model)
            let weights = footprint.parametersByClass.values.reduce(0, +) + normWeights(lab.checkpoint.config)
            let bytes = model.weightBytes
            let expertBytes = footprint.bytesByClass[.experts] ?? 0
            let expertWeights = footprint.parametersByClass[.experts] ?? 1
            return Row(attention: attention.rawValue, experts: experts.rawValue, bytes: bytes,
                       bitsPerWeight: Double(8 * bytes) / Double(weights),
                       expertBitsPerWeight: Double(8 * expertBytes) / Double(expertWeights),
                       perplexity: perplexity, deltaPerplexity: perplexity - baselinePerplexity,
                       deltaLow: low, deltaHigh: high, mixtralGB: mixtralGigabytes(attention: attention, experts: experts),
                       paper: PaperFigures.table1Cell(attention: attention.rawValue, experts: experts.rawValue))
        }
        var cells: [Row] = []
        for attention in gridPrecisions {
            for experts in gridPrecisions { cells.append(try row(attention: attention, experts: experts)) }
        }
        let references = try referencePrecisions.map { try row(attention: $0, experts: $0) }
        return PaperTable1(cells: cells, references: references, tokens: windows.reduce(0) { $0 + $1.count - 1 },
                           windows: windows.count, modelName: lab.modelName)
    }

    /// RMSNorm weights (2 per layer and the final one), which `ModelFootprint.parametersByClass` leaves out.
    static func normWeights(_ c: MixtralConfig) -> Int { (2 * c.numHiddenLayers + 1) * c.hiddenSize }

    /// Mixtral-8x7B's bytes at a spec (`ModelFootprint(config:precision:)`, nominal bits per weight; fp32
    /// stands for the paper's fp16, and the router, embedding and LM head are fp16), in GB.
    static func mixtralGigabytes(attention: Precision, experts: Precision) -> Double {
        func paper(_ p: Precision) -> Precision { p == .fp32 ? .f16 : p }
        let spec = PrecisionSpec([.attention: paper(attention), .experts: paper(experts), .router: .f16, .embedding: .f16, .head: .f16])
        let footprint = ModelFootprint(config: MixtralShapes.mixtral8x7B, precision: spec)
        return Double(footprint.bytesByClass.values.reduce(0, +)) / 1e9
    }

    /// 95% interval of `exp(Σ nll / Σ n) − exp(Σ baseline / Σ n)`, the same windows for both models (paired):
    /// the t interval of the mean per-token log-perplexity difference R = Σ (nllᵢ − baselineᵢ) / Σ nᵢ over the
    /// windows (`StudentT.ratioInterval`, m − 1 degrees of freedom), mapped to perplexity as
    /// `exp(Σ baseline / Σ n) · (exp(R) − 1)` — monotone, so the ends keep their 95%. A t interval rather
    /// than a percentile bootstrap because there are few windows (8 in lesson 10): the bootstrap's spread
    /// lacks the m − 1 correction and its tails are the normal's, so with few windows it is too narrow.
    /// Both assume the windows independent; consecutive windows of one text are not quite (neighbouring
    /// lines of one play), so the interval speaks for the stretch of text measured — another stretch can
    /// differ by more.
    static func pairedInterval(_ nll: [Double], _ baseline: [Double], counts: [Int]) -> (Double?, Double?) {
        guard let r = StudentT.ratioInterval(numerators: zip(nll, baseline).map { $0 - $1 },
                                             denominators: counts.map(Double.init)) else { return (nil, nil) }
        let base = exp(baseline.reduce(0, +) / Double(counts.reduce(0, +)))
        return (base * expm1(r.interval.low), base * expm1(r.interval.high))
    }

    /// The table in the paper's layout: one block of rows per attention precision, one row per expert
    /// precision, then the reference rows; ours first, then the paper's Mixtral-8x7B figures for the cell.
    public var text: String {
        var table = MarkdownTable(["attention", "experts", "weights", "bits/weight", "experts bits/w",
                                   "perplexity", "Δ vs fp32 [95% interval]", "Mixtral-8x7B GB (computed)",
                                   "paper: GiB (its \"GB\")", "paper: Wiki2", "paper: C4", "paper: MMLU"])
        for row in cells + references {
            let band = row.deltaLow.map { " [\(Self.signed($0)), \(Self.signed(row.deltaHigh ?? .nan))]" } ?? ""
            let paper = row.paper.map { [String(format: "%.2f", $0.sizeGB), String(format: "%.2f", $0.wiki2), String(format: "%.2f", $0.c4),
                                         $0.mmlu.map { String(format: "%.2f %%", $0) } ?? "–"] } ?? ["–", "–", "–", "–"]
            table.rows.append([row.attention, row.experts, formatBytes(Double(row.bytes)),
                               String(format: "%.3f", row.bitsPerWeight), String(format: "%.3f", row.expertBitsPerWeight),
                               String(format: "%.3f", row.perplexity),
                               row.attention == "fp32" && row.experts == "fp32" ? "0" : Self.signed(row.deltaPerplexity) + band,
                               String(format: "%.1f", row.mixtralGB)] + paper)
        }
        return table.description
    }

    /// How our computed Mixtral-8x7B sizes compare with the paper's, its "GB" read as GiB (its FP16 row,
    /// 86.99, is 46.7 B weights × 2 bytes = 93.4 GB in GiB): its sizes ÷ ours in GiB over the 16 cells.
    public var sizeAgreement: ClosedRange<Double> {
        let ratios = cells.compactMap { row in row.paper.map { $0.sizeGB / (row.mixtralGB * 1e9 / 1_073_741_824) } }
        return (ratios.min() ?? .nan)...(ratios.max() ?? .nan)
    }

    /// The paper's perplexity increase from all-FP16 to attention 4-bit with experts 2-bit (its chosen
    /// recipe), and ours, as ratios of the all-unquantized perplexity: how much of the model's quality each loses.
    public var recipeCost: (paperWiki2: Double, paperC4: Double, ours: Double) {
        let base = PaperFigures.table1Cell(attention: "fp32", experts: "fp32")!
        let recipe = PaperFigures.table1Cell(attention: "hqq4", experts: "hqq2")!
        let ours = cells.first { $0.attention == "hqq4" && $0.experts == "hqq2" }
        return (recipe.wiki2 / base.wiki2 - 1, recipe.c4 / base.c4 - 1,
                ours.map { $0.deltaPerplexity / ($0.perplexity - $0.deltaPerplexity) } ?? .nan)
    }

    /// `value` with a sign and 3 decimals; one that rounds to zero prints `+0.000`, never `-0.000`.
    static func signed(_ value: Double) -> String {
        let rounded = (value * 1000).rounded() / 1000
        return String(format: "%+.3f", rounded == 0 ? 0 : rounded)
    }

    /// Two panels. Left, ours: perplexity against model size (logarithmic, as the sizes span 4×), one line
    /// per attention precision through its four expert precisions, the reference rows as single points;
    /// each point with the 95% interval of its difference from all-fp32 (`pairedInterval`), drawn around its
    /// perplexity. Right, the paper's Table 1: Mixtral-8x7B's WikiText-2 perplexity against its size in GB,
    /// the same lines (FP16 for our fp32).
    public func chart(metadata: PNGMetadata) -> SideBySideLineCharts {
        // the all-fp32 perplexity plus the interval of the paired difference (none without one)
        func interval(_ row: Row) -> ClosedRange<Double> {
            let base = row.perplexity - row.deltaPerplexity
            guard let low = row.deltaLow, let high = row.deltaHigh, low <= high else { return row.perplexity...row.perplexity }
            return (base + low)...(base + high)
        }
        var ours: [LineSeries] = [], paper: [LineSeries] = []
        for attention in Self.gridPrecisions {
            let rows = cells.filter { $0.attention == attention.rawValue }
            ours.append(LineSeries(name: "attention \(attention.rawValue)", x: rows.map { Double($0.bytes) / 1_048_576 },
                                   y: rows.map(\.perplexity), yIntervals: rows.map(interval)))
            let published = rows.compactMap(\.paper)
            paper.append(LineSeries(name: "attention \(published.first?.attention ?? attention.rawValue)",
                                    x: published.map(\.sizeGB), y: published.map(\.wiki2)))
        }
        for row in references {
            ours.append(LineSeries(name: "all \(row.attention)", x: [Double(row.bytes) / 1_048_576], y: [row.perplexity],
                                   yIntervals: [interval(row)]))
        }
        func panel(_ title: String, _ series: [LineSeries], _ xLabel: String, _ yLabel: String) -> LineChart {
            var panelMetadata = metadata
            panelMetadata.title = title
            return LineChart(metadata: panelMetadata, series: series,
                      xLabel: xLabel, yLabel: yLabel, logX: true)
        }
        return SideBySideLineCharts(
            metadata: metadata,
            left: panel("ours: \(modelName) (overlapping bars: no ranking)", ours,
                        "weights (MiB, logarithmic)", "perplexity, \(tokens) held-out tokens (bars: 95%)"),
            right: panel("\(PaperFigures.citation), Table 1: Mixtral-8x7B", paper,
                         "model size (the paper's GB, logarithmic)", "WikiText-2 perplexity"))
    }
}
