/// The published figures of Eliseev & Mazur 2023 ("Fast Inference of Mixture-of-Experts Language Models
/// with Offloading", arXiv:2312.17238, section 4): Table 1 and Table 2 as printed, for Mixtral-8x7B. Facts
/// from the paper, quoted beside mixtral-lab's own numbers; nothing here is measured or fitted by us.
public enum PaperFigures {
    /// The citation printed with every figure.
    public static let citation = "Eliseev & Mazur 2023 (arXiv:2312.17238)"

    /// One cell of Table 1: attention and experts quantized with HQQ ("FP16" unquantized), the model's size,
    /// WikiText-2 and C4 perplexity, 5-shot MMLU (nil where the paper reports none).
    public struct Table1Cell: Sendable, Encodable {
        public let attention: String
        public let experts: String
        /// Model size in GB as the paper gives it.
        public let sizeGB: Double
        public let wiki2: Double
        public let c4: Double
        /// 5-shot MMLU accuracy in percent.
        public let mmlu: Double?
    }

    /// Table 1, attention-major in the paper's order (FP16, 4-bit, 3-bit, 2-bit; experts in the same order).
    public static let table1: [Table1Cell] = [
        .init(attention: "FP16", experts: "FP16", sizeGB: 86.99, wiki2: 3.59, c4: 6.52, mmlu: 70.51),
        .init(attention: "FP16", experts: "4-bit", sizeGB: 25.82, wiki2: 3.67, c4: 6.58, mmlu: 70.3),
        .init(attention: "FP16", experts: "3-bit", sizeGB: 23.21, wiki2: 3.96, c4: 6.78, mmlu: 69.32),
        .init(attention: "FP16", experts: "2-bit", sizeGB: 19.33, wiki2: 4.52, c4: 7.31, mmlu: 66.66),
        .init(attention: "4-bit", experts: "FP16", sizeGB: 85.16, wiki2: 3.68, c4: 6.59, mmlu: nil),
        .init(attention: "4-bit", experts: "4-bit", sizeGB: 23.99, wiki2: 3.76, c4: 6.66, mmlu: 69.11),
        .init(attention: "4-bit", experts: "3-bit", sizeGB: 21.37, wiki2: 4.05, c4: 6.87, mmlu: 68.47),
        .init(attention: "4-bit", experts: "2-bit", sizeGB: 17.54, wiki2: 4.61, c4: 7.42, mmlu: 65.58),
        .init(attention: "3-bit", experts: "FP16", sizeGB: 85.08, wiki2: 3.99, c4: 6.90, mmlu: nil),
        .init(attention: "3-bit", experts: "4-bit", sizeGB: 23.92, wiki2: 4.06, c4: 6.97, mmlu: 66.54),
        .init(attention: "3-bit", experts: "3-bit", sizeGB: 21.31, wiki2: 4.34, c4: 7.21, mmlu: 65.79),
        .init(attention: "3-bit", experts: "2-bit", sizeGB: 17.46, wiki2: 4.90, c4: 7.82, mmlu: 61.83),
        .init(attention: "2-bit", experts: "FP16", sizeGB: 84.96, wiki2: 4.98, c4: 7.92, mmlu: nil),
        .init(attention: "2-bit", experts: "4-bit", sizeGB: 23.79, wiki2: 5.08, c4: 8.06, mmlu: 59.0),
        .init(attention: "2-bit", experts: "3-bit", sizeGB: 21.18, wiki2: 5.36, c4: 8.34, mmlu: 57.67),
        .init(attention: "2-bit", experts: "2-bit", sizeGB: 17.30, wiki2: 5.97, c4: 9.11, mmlu: 55.26),
    ]

    /// The paper's name of one of mixtral-lab's Table 1 precisions (`fp32` stands for its FP16).
    public static func table1Name(_ precision: String) -> String? {
        ["fp32": "FP16", "hqq4": "4-bit", "hqq3": "3-bit", "hqq2": "2-bit"][precision]
    }

    /// The Table 1 cell for mixtral-lab's precision names (`fp32`, `hqq4`, `hqq3`, `hqq2`), nil for others.
    public static func table1Cell(attention: String, experts: String) -> Table1Cell? {
        guard let a = table1Name(attention), let e = table1Name(experts) else { return nil }
        return table1.first { $0.attention == a && $0.experts == e }
    }

    /// Table 2's rows (its algorithm names).
    public enum Table2Algorithm: String, CaseIterable, Sendable, Encodable {
        case full = "Full algorithm"
        case noPrefetch = "W/o expert pre-loading"
        case noCache = "W/o LRU cache & pre-loading"
        case naive = "Naive offloading (accelerate)"
    }

    /// Table 2: decode tokens/s of Mixtral-8x7B-Instruct, batch 1, attention 4-bit HQQ; per expert precision
    /// ("hqq2", "hqq3"), machine (mixtral-lab's profile names) and algorithm. The 3-bit T4 column is an Azure
    /// cloud T4 (the 2-bit one Colab's).
    public static let table2: [String: [String: [Table2Algorithm: Double]]] = [
        "hqq2": [
            "a100-80g": [.full: 3.061, .noPrefetch: 2.918, .noCache: 2.265, .naive: 1.392],
            "rtx-3080-mobile": [.full: 2.655, .noPrefetch: 2.227, .noCache: 1.758, .naive: 1.059],
            "rtx-3060": [.full: 2.278, .noPrefetch: 2.051, .noCache: 1.547, .naive: 0.919],
            "colab-t4": [.full: 2.092, .noPrefetch: 1.567, .noCache: 1.168, .naive: 0.661],
        ],
        "hqq3": [
            "a100-80g": [.full: 2.845, .noPrefetch: 2.683, .noCache: 2.055, .naive: 1.246],
            "rtx-3080-mobile": [.full: 2.475, .noPrefetch: 2.024, .noCache: 1.595, .naive: 0.914],
            "rtx-3060": [.full: 2.038, .noPrefetch: 1.857, .noCache: 1.346, .naive: 1.791],
            "colab-t4": [.full: 1.603, .noPrefetch: 1.365, .noCache: 1.061, .naive: 0.580],
        ],
    ]

    /// The paper's tokens/s for one cell of Table 2, nil where it has none (e.g. cpu-compute).
    public static func tokensPerSecond(experts: String, machine: String, _ algorithm: Table2Algorithm) -> Double? {
        table2[experts]?[machine]?[algorithm]
    }

    /// The one figure of Table 2 that contradicts its own column: 3-bit naive offloading on the RTX 3060
    /// (1.791 tok/s) is above that column's "w/o LRU cache & pre-loading" (1.346) and twice the 2-bit naive
    /// figure (0.919) — probably a typo in the paper; shown as printed.
    public static let table2Oddity = (experts: "hqq3", machine: "rtx-3060", algorithm: Table2Algorithm.naive)

    /// The range over Table 2's eight columns of `numerator ÷ denominator` tokens/s (e.g. the full algorithm
    /// over the one without pre-loading: what prefetching gains).
    public static func gainRange(_ numerator: Table2Algorithm, over denominator: Table2Algorithm) -> ClosedRange<Double> {
        let ratios = table2.values.flatMap { $0.values.map { $0[numerator]! / $0[denominator]! } }
        return ratios.min()!...ratios.max()!
    }

    /// A sentence placing one of our ratios against the paper's range of the same ratio: "`value`× is above /
    /// inside / below the paper's `low`–`high`× (`what`, citation, Table 2)".
    public static func compare(_ value: Double, with range: ClosedRange<Double>, what: String) -> String {
        let place = value > range.upperBound ? "above" : value < range.lowerBound ? "below" : "inside"
        return String(format: "%.2f× is \(place) the %.2f–%.2f× ", value, range.lowerBound, range.upperBound)
            + "the paper measured on Mixtral-8x7B (\(what); \(citation), Table 2, four GPUs at 2- and 3-bit experts)"
    }
}
