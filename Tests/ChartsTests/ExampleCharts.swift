import Charts
import Foundation
import TestSupport
import Tensors

/// One example of each chart kind, with made-up but plausible data (Mixtral 8x7B shapes, GGML/bitsandbytes
/// formats), used by the tests, the reference PNGs in Fixtures/ and the pictures in docs/charts/.
enum ExampleCharts {
    /// Made-up weights shaped like an LLM projection row: normal with σ = 0.02 and a few outliers.
    static func weights(count: Int, seed: UInt64) -> [Float] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let outlier = random.nextUnit() < 0.004
            return Float(random.normal() * (outlier ? 0.07 : 0.02))
        }
    }

    /// The NF4 codebook: bitsandbytes `functional.py`, `get_4bit_type("nf4")` (QLoRA, Dettmers et al. 2023).
    static let nf4Codebook: [Float] = [
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
        -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
        0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
        0.7229568362236023, 1.0,
    ]

    /// Q4_0 levels of a block whose largest-magnitude weight is `signedMax`: d = max / −8, levels d·(q − 8),
    /// q = 0…15 (ggml `quantize_row_q4_0_ref`).
    static func q4_0Levels(signedMax: Float) -> [Float] {
        let d = signedMax / -8
        return (0..<16).map { d * Float($0 - 8) }
    }

    static func signedMax(_ block: ArraySlice<Float>) -> Float {
        block.max { abs($0) < abs($1) } ?? 0
    }

    /// dequantized − original when each block of `blockSize` weights is rounded by `dequantize(block)`.
    static func roundingErrors(_ weights: [Float], blockSize: Int, dequantize: (ArraySlice<Float>) -> [Float]) -> [Float] {
        stride(from: 0, to: weights.count, by: blockSize).flatMap { start -> [Float] in
            let block = weights[start..<min(start + blockSize, weights.count)]
            return zip(dequantize(block), block).map { $0 - $1 }
        }
    }

    /// Each weight rounded to the nearest of `levels`.
    static func nearest(_ block: ArraySlice<Float>, levels: [Float]) -> [Float] {
        block.map { w in levels.min { abs($0 - w) < abs($1 - w) }! }
    }

    static func metadata(_ title: String, _ description: String, precision: String? = nil) -> PNGMetadata {
        PNGMetadata(title: title, description: description, source: "made-up example data (Tests/ChartsTests/ExampleCharts.swift)",
                    command: "swift test --filter ChartsTests", model: "example (Mixtral 8x7B shapes)", precision: precision)
    }

    // MARK: One example per chart kind

    static func weightHistogram() -> WeightHistogramChart {
        let block = weights(count: 4096, seed: 7)
        let absmax = block.map(abs).max()!
        return WeightHistogramChart(
            metadata: metadata("Example: 4,096 weights of one w1 row with Q4_0 and NF4 levels",
                               "Histogram of made-up weights with the Q4_0 grid d·(q−8) and the NF4 codebook scaled to absmax.",
                               precision: "q4_0, nf4"),
            weights: block,
            levelSets: [
                LevelSet(name: "Q4_0 grid d·(q−8), d = max/−8", levels: q4_0Levels(signedMax: signedMax(block[...]))),
                LevelSet(name: "NF4 codebook × absmax", levels: nf4Codebook.map { $0 * absmax }),
            ])
    }

    static func errorHistogram() -> ErrorHistogramChart {
        let w = weights(count: 16384, seed: 11)
        return ErrorHistogramChart(
            metadata: metadata("Example: quantization error per precision (16,384 made-up weights)",
                               "Histogram of dequantized − original for Q8_0, Q4_0 and NF4, log-scale counts.",
                               precision: "q8_0, q4_0, nf4"),
            series: [
                // Q8_0: d = absmax / 127, q = round(w / d) (ggml `quantize_row_q8_0_ref`).
                ErrorSeries(name: "q8_0 (block 32)", errors: roundingErrors(w, blockSize: 32) { block in
                    let d = block.map(abs).max()! / 127
                    return block.map { ($0 / d).rounded() * d }
                }),
                ErrorSeries(name: "q4_0 (block 32)", errors: roundingErrors(w, blockSize: 32) { block in
                    nearest(block, levels: q4_0Levels(signedMax: signedMax(block)))
                }),
                ErrorSeries(name: "nf4 (block 64)", errors: roundingErrors(w, blockSize: 64) { block in
                    nearest(block, levels: nf4Codebook.map { $0 * block.map(abs).max()! })
                }),
            ],
            logScale: true)
    }

    static func groupedBars() -> GroupedBarChart {
        var random = SplitMix64(seed: 3)
        let layers = 32
        func snr(_ base: Double) -> [Double] { (0..<layers).map { base - 1.5 * Double($0) / Double(layers) + random.normal() * 0.35 } }
        return GroupedBarChart(
            metadata: metadata("Example: SNR of the expert weights per layer and precision",
                               "Signal-to-noise ratio 10·log10(‖W‖²/‖Ŵ−W‖²) of w1/w2/w3 per decoder layer.",
                               precision: "q8_0, nf4, q4_0"),
            categories: (0..<layers).map(String.init),
            // invented, but ordered as lesson 2 measures the default model's weights: at equal bits (4.5),
            // Q4_0 with blocks of 32 keeps a little more than NF4 with blocks of 64
            series: [BarSeries(name: "q8_0", values: snr(40.6)), BarSeries(name: "nf4", values: snr(19.8)),
                     BarSeries(name: "q4_0", values: snr(20.9))],
            xLabel: "decoder layer", yLabel: "SNR of expert weights (dB, higher is better)")
    }

    static func lineChart() -> LineChart {
        let sizes: [Double] = [1, 2, 3, 4, 5, 6, 7, 8]
        return LineChart(
            metadata: metadata("Example: expert cache hit rate vs cache size per policy",
                               "Fraction of expert look-ups served from the cache, 256 generated tokens, top-2 of 8 experts."),
            series: [
                LineSeries(name: "LRU", x: sizes, y: [22, 41, 55, 66, 75, 83, 91, 100]),
                LineSeries(name: "LFU", x: sizes, y: [25, 43, 56, 66, 74, 82, 90, 100]),
                LineSeries(name: "LRU + speculative prefetch", x: sizes, y: [31, 52, 66, 76, 83, 89, 94, 100]),
                LineSeries(name: "random eviction", x: sizes, y: [13, 26, 38, 50, 62, 74, 87, 100]),
            ],
            xLabel: "cache size (experts kept per layer, of 8)", yLabel: "cache hit rate (%)", yRange: 0...100)
    }

    static let exampleTokens = ["<s>", "▁The", "▁quick", "▁brown", "▁fox", "▁jumps", "▁over", "▁the", "▁lazy", "▁dog", ".",
                                "\n", "def", " main", "():", "\n", "    ", "return", " 4", "2", "\n", "Das", " ist", " gut"]

    static func routingHeatmap() -> RoutingHeatmap {
        var random = SplitMix64(seed: 5)
        let experts = 8
        let values: [[Double]] = {
            var grid = [[Double]](repeating: [Double](repeating: .nan, count: exampleTokens.count), count: experts)
            for column in exampleTokens.indices {
                // top-2 of 8 router logits, softmax over the two
                let logits = (0..<experts).map { expert in random.normal() + (column > 11 && column < 20 && expert == 3 ? 1.8 : 0) }
                let top = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(2)
                let exps = top.map { exp(logits[$0]) }
                for (expert, e) in zip(top, exps) { grid[expert][column] = e / exps.reduce(0, +) }
            }
            return grid
        }()
        return RoutingHeatmap(
            metadata: metadata("Example: router weights of layer 16 per token (top-2 of 8 experts)",
                               "Softmax weight of each chosen expert per token, a 12-token prompt then generated tokens; empty cells: the router did not choose the expert."),
            rowLabels: (0..<experts).map { "expert \($0)" }, tokens: exampleTokens,
            cells: .continuous(values: values, label: "router weight after top-2 softmax", range: 0...1),
            rowAxisLabel: "expert (layer 16)",
            columnAxisLabel: "token in order: the prompt left of the black line, generated tokens right of it", promptTokens: 12)
    }

    static func transferTimeline() -> TransferTimeline {
        var random = SplitMix64(seed: 9)
        var events: [TimelineEvent] = []
        var computeFree = 0.0, linkFree = 0.0
        let computeMicroseconds = 1400.0, transferMicroseconds = 2600.0
        for token in 0..<4 {
            for layer in 0..<8 {
                let misses = random.nextUnit() < (token == 0 ? 0.9 : 0.35) ? (random.nextUnit() < 0.3 ? 2 : 1) : 0
                var ready = computeFree
                for _ in 0..<misses {
                    let start = max(linkFree, computeFree)
                    events.append(TimelineEvent(token: token, layer: layer, kind: .transfer, startMicroseconds: start,
                                                durationMicroseconds: transferMicroseconds))
                    linkFree = start + transferMicroseconds
                    ready = linkFree
                }
                if ready > computeFree {
                    events.append(TimelineEvent(token: token, layer: layer, kind: .stall, startMicroseconds: computeFree,
                                                durationMicroseconds: ready - computeFree))
                }
                events.append(TimelineEvent(token: token, layer: layer, kind: .compute, startMicroseconds: ready,
                                            durationMicroseconds: computeMicroseconds, hits: 2 - misses, misses: misses))
                computeFree = ready + computeMicroseconds
            }
        }
        return TransferTimeline(
            metadata: metadata("Example: expert transfers and stalls, 4 tokens × 8 layers, cache of 4 experts/layer",
                               "Simulated timeline: compute and host→device expert transfers; misses stall compute."),
            events: events)
    }

    static func memoryPlan() -> MemoryPlanChart {
        // Mixtral 8x7B parameter counts per tensor class (hidden 4096, intermediate 14336, 32 layers, 8 experts,
        // 8 KV heads of 128, vocabulary 32000).
        let embeddings = 2.0 * 32000 * 4096
        let attention = 32.0 * (2 * 4096 * 4096 + 2 * 4096 * 1024)
        let experts = 32.0 * 8 * 3 * 14336 * 4096
        let routerAndNorms = 32.0 * (8 * 4096 + 2 * 4096) + 4096
        // bytes per weight: fp32 4, bf16 2, q8_0 34/32, q4_0 18/32, nf4 0.5 + 4/64 (fp32 absmax per 64)
        let mixes: [(name: String, embeddings: Double, attention: Double, experts: Double)] = [
            ("fp32", 4, 4, 4), ("bf16", 2, 2, 2), ("q8_0", 2, 34.0 / 32, 34.0 / 32),
            ("attn q8_0 + experts nf4", 2, 34.0 / 32, 0.5 + 4.0 / 64), ("attn q8_0 + experts q4_0", 2, 34.0 / 32, 18.0 / 32),
        ]
        return MemoryPlanChart(
            metadata: metadata("Example: Mixtral 8x7B weight memory per precision mix",
                               "Bytes of weights per tensor class for each precision mix, against RAM and VRAM budgets.",
                               precision: mixes.map(\.name).joined(separator: "; ")),
            mixes: mixes.map(\.name),
            tensorClasses: [
                BarSeries(name: "embeddings + lm_head", values: mixes.map { $0.embeddings * embeddings }),
                BarSeries(name: "attention wq/wk/wv/wo", values: mixes.map { $0.attention * attention }),
                BarSeries(name: "experts w1/w3/w2", values: mixes.map { $0.experts * experts }),
                BarSeries(name: "router + norms (fp32)", values: mixes.map { _ in 4 * routerAndNorms }),
            ],
            limits: [MemoryLimit(name: "RAM", bytes: 64 * 1024 * 1024 * 1024), MemoryLimit(name: "VRAM", bytes: 24 * 1024 * 1024 * 1024)])
    }

    /// The file names used in docs/charts/ (without ".png"), one per chart kind.
    static let names = ["weight-histogram", "error-histogram", "grouped-bars", "line-hit-rate", "routing-heatmap",
                        "transfer-timeline", "memory-plan"]

    /// The example called `name` (one of `names`).
    static func chart(named name: String) -> any Chart {
        switch name {
        case "weight-histogram": return weightHistogram()
        case "error-histogram": return errorHistogram()
        case "grouped-bars": return groupedBars()
        case "line-hit-rate": return lineChart()
        case "routing-heatmap": return routingHeatmap()
        case "transfer-timeline": return transferTimeline()
        case "memory-plan": return memoryPlan()
        default: preconditionFailure("no example chart named \(name)")
        }
    }
}
