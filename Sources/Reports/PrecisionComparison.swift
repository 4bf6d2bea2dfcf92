import Foundation
import Engine
import Quantization
import Checkpoints
import Charts
import Offloading

/// The same model at several precisions on the same prompt: greedy continuations side by side with fp32,
/// agreement and KL of next-token distributions along fp32's continuation, held-out perplexity, memory
/// and decode speed. Shared by lesson 3 and `mixtral-lab compare`.
public struct PrecisionComparison {
    public struct Row {
        public let precision: PrecisionSpec
        public let weightBytes: Int
        public let bitsPerWeight: Double
        public let decodeTokensPerSecond: Double
        public let continuation: [Int]
        /// Index in `continuation` of the first token that differs from fp32's, nil if none.
        public let firstDivergence: Int?
        public let comparison: ModelComparison
        public let perplexity: Double
        /// Perplexity minus fp32's on the same held-out tokens, with its paired 95 % bootstrap interval over
        /// chunks of 64 tokens (`HeldoutComparison.perplexityChange`); nil for fp32 itself and without held-out text.
        public let perplexityChange: Estimate?
        /// The offloading simulation of this precision's continuation, when one was asked for.
        public let offloading: OffloadingSummary?
    }

    public let promptIDs: [Int]
    public let rows: [Row]
    public let heldoutTokens: Int
    /// The offloading settings every precision's routing was replayed through, if any.
    public let offloading: OffloadingSetup?

    /// - Parameters:
    ///   - promptIDs: the prompt's token ids (with BOS when the caller wants one).
    ///   - precisions: specs to compare; fp32 is added first as the reference if absent.
    ///   - maxTokens: greedy continuation length.
    ///   - heldoutTokens: tokens of the held-out text for perplexity (0 = skip).
    ///   - offloading: when given, each precision's greedy run is recorded and its routing replayed
    ///     through this policy and cache on the hardware's simulated clock, with the experts' real sizes
    ///     at that precision (so a byte budget holds more experts at fewer bits).
    /// - Throws: engine errors; `OffloadingError` for a cache size the model cannot have.
    public init(lab: LabContext, promptIDs: [Int], precisions: [PrecisionSpec], maxTokens: Int, heldoutTokens: Int,
                offloading: OffloadingSetup? = nil) throws {
        self.offloading = offloading
        let fp32 = PrecisionSpec(uniform: .fp32)
        let specs = [fp32] + precisions.filter { $0 != fp32 }
        self.promptIDs = promptIDs
        let reference = try lab.model(fp32)
        // Weights a checkpoint stores quantized (GGUF Q4_0, a `quantize` output) or as f16 load as stored
        // whatever the spec says, so every row would be the same model under different labels.
        let stored = reference.layers[0].attention.q.formatName
        guard stored == "fp32" else {
            throw CheckpointError.badTensor(path: lab.checkpoint.directory.path, tensor: "model.layers.0.self_attn.q_proj.weight",
                                            reason: "is stored as \(stored) and loads as stored whatever the precision, so precisions cannot be compared on this checkpoint; compare a float (fp32/bf16 safetensors or F32 GGUF) checkpoint")
        }
        let windows = heldoutTokens > 0 ? try lab.heldoutWindows(limit: heldoutTokens) : []
        self.heldoutTokens = windows.reduce(0) { $0 + $1.count - 1 }
        var rows: [Row] = []
        var referenceTokens: [Int] = []
        var referenceNLL: [Double] = []
        for spec in specs {
            let model = try lab.model(spec)
            lab.progress("running \(spec)")
            var generator = Generator(model: model, stopToken: -1)
            let started = DispatchTime.now().uptimeNanoseconds
            var firstTokenAt: UInt64 = 0
            let continuation = try generator.generate(prompt: promptIDs, maxTokens: maxTokens) { _ in
                if firstTokenAt == 0 { firstTokenAt = DispatchTime.now().uptimeNanoseconds }
            }
            let decodeSeconds = Double(DispatchTime.now().uptimeNanoseconds - max(firstTokenAt, started)) / 1e9
            if spec == fp32 { referenceTokens = continuation }
            let comparison = try ModelComparison(reference: reference, candidate: model, tokens: promptIDs + referenceTokens)
            let nll = try Perplexity.negativeLogLikelihoods(model: model, windows: windows)
            if spec == fp32 { referenceNLL = nll }
            let perplexity = nll.isEmpty ? Double.nan : exp(nll.reduce(0, +) / Double(nll.count))
            let change = nll.isEmpty || spec == fp32 ? nil : HeldoutComparison.perplexityChange(candidateNLL: nll, referenceNLL: referenceNLL)
            var simulated: OffloadingSummary?
            if let offloading {
                // A second greedy run, with the routing recorded: the timed run above stays free of recording.
                let run = try RecordedRun.record(model: model, prompt: promptIDs, maxTokens: maxTokens, lookahead: offloading.policy.lookahead)
                simulated = try offloading.simulate(run, model: ModelFootprint(model: model))
            }
            let expertParameters = model.config.numHiddenLayers * model.config.numExperts * model.config.parametersPerExpert
            let bits = Double(model.layers.reduce(0) { $0 + $1.expertBytes.reduce(0, +) }) * 8 / Double(expertParameters)
            rows.append(Row(precision: spec, weightBytes: model.weightBytes, bitsPerWeight: bits,
                            decodeTokensPerSecond: decodeSeconds > 0 ? Double(max(continuation.count - 1, 0)) / decodeSeconds : .nan,
                            continuation: continuation,
                            firstDivergence: zip(continuation, referenceTokens).enumerated().first { $0.element.0 != $0.element.1 }?.offset,
                            comparison: comparison, perplexity: perplexity, perplexityChange: change, offloading: simulated))
        }
        self.rows = rows
    }

    /// Markdown table: memory, bits, speed, agreement, KL, perplexity per precision; with offloading, also
    /// each precision's cache slots, hit rate, bytes moved and simulated tokens/s.
    public func table() -> MarkdownTable {
        var columns = ["precision", "weights", "expert bits/weight", "decode tok/s", "top-1 agreement", "mean KL (nats)", "perplexity",
                       "perplexity − fp32 [95 % interval]"]
        if let offloading {
            columns += ["slots/layer", "\(offloading.policy) hit rate", "moved", "est. tok/s on \(offloading.hardware.name)"]
        }
        var table = MarkdownTable(columns)
        for row in rows {
            var cells = [row.precision.description, formatBytes(Double(row.weightBytes)), String(format: "%.2f", row.bitsPerWeight),
                         String(format: "%.0f", row.decodeTokensPerSecond), String(format: "%.1f %%", row.comparison.top1Agreement * 100),
                         String(format: "%.5f", row.comparison.meanKL),
                         row.perplexity.isNaN ? "—" : String(format: "%.3f", row.perplexity),
                         row.perplexityChange?.formatted("%+.3f") ?? "—"]
            if let s = row.offloading {
                cells += ["\(s.cacheExperts)", String(format: "%.1f %%", s.hitRate * 100), formatBytes(Double(s.bytesTransferred)),
                          String(format: "%.1f", s.tokensPerSecondEst)]
            }
            table.rows.append(cells)
        }
        return table
    }

    /// Each precision's continuation, with `marked` the first token that differs from fp32 between ⟦ ⟧
    /// (for reading; data keeps the text as generated and the index apart).
    public func continuations(tokenizer: Tokenizer, marked: Bool = true) -> [(precision: String, text: String)] {
        rows.map { row in
            let split = marked ? row.firstDivergence ?? row.continuation.count : row.continuation.count
            let same = tokenizer.decode(promptIDs + Array(row.continuation[..<split]), skipSpecialTokens: true)
            let promptText = tokenizer.decode(promptIDs, skipSpecialTokens: true)
            var text = String(same.dropFirst(promptText.count))
            if split < row.continuation.count {
                let rest = tokenizer.decode(promptIDs + row.continuation, skipSpecialTokens: true).dropFirst(same.count)
                let divergent = tokenizer.decode(promptIDs + Array(row.continuation[...split]), skipSpecialTokens: true).dropFirst(same.count)
                text += "⟦" + divergent + "⟧" + rest.dropFirst(divergent.count)
            }
            return (row.precision.description, text)
        }
    }

    /// Files `writeCharts` writes.
    public static let chartFiles = ["residual-error.png", "perplexity.png"]

    /// Writes the residual-error-per-layer chart (points per layer) and the perplexity bar chart (`chartFiles`).
    public func writeCharts(lab: LabContext) throws -> (residualError: ChartFile, perplexity: ChartFile) {
        let names = rows.map(\.precision.description)
        let layers = rows.first?.comparison.residualRelativeError.count ?? 0
        // Points joined per precision on a logarithmic axis (errors span decades): a bar's length means
        // nothing on a log axis, whose baseline is arbitrary, so this is no bar chart.
        let residual = LineChart(
            metadata: lab.metadata(title: "How far each layer's residual stream drifts from fp32",
                                   description: "Mean relative error ‖h − h_fp32‖/‖h_fp32‖ of the residual stream after each layer, on the prompt and fp32's continuation.",
                                   precision: names.joined(separator: ", ")),
            series: rows.dropFirst().map { row in
                LineSeries(name: row.precision.description, x: (0..<layers).map(Double.init), y: row.comparison.residualRelativeError)
            },
            xLabel: "decoder layer (residual stream after it)", yLabel: "relative error of the residual stream (log scale)",
            logY: true, showMarkers: true, minimumXTickStep: 1)
        // Perplexities differ by tenths on a scale of tens: bars of the increase over fp32 show it, bars
        // of the perplexity itself (from 0, as bars must start) would all look alike.
        let baseline = rows.first?.perplexity ?? .nan
        let perplexity = GroupedBarChart(
            metadata: lab.metadata(title: "Held-out perplexity above fp32's \(String(format: "%.3f", baseline))",
                                   description: "Perplexity on \(heldoutTokens) held-out tokens minus fp32's, with its paired 95 % bootstrap interval over chunks; lower is better only where the interval excludes 0.",
                                   precision: names.joined(separator: ", ")),
            categories: Array(names.dropFirst()),
            series: [BarSeries(name: "perplexity − fp32 perplexity", values: rows.dropFirst().map { $0.perplexity - baseline },
                               intervals: rows.dropFirst().map { $0.perplexityChange?.interval.range })],
            xLabel: "precision", yLabel: "increase in perplexity over fp32 (lower is better)",
            intervalLabel: "95 % interval (paired bootstrap over chunks; one that includes 0 is noise)")
        return (try lab.write(residual, file: "residual-error.png", caption: "Residual-stream error per layer"),
                try lab.write(perplexity, file: "perplexity.png", caption: "Held-out perplexity above fp32's, per precision"))
    }
}
