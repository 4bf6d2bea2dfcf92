import Quantization
import Reports

/// Lesson 2's experiment: why scales are per block, and why NF4's levels follow a normal distribution.
/// Outlier statistics of a real weight matrix; one 4-bit scale for the whole tensor against per-block
/// scales (Q4_0, blocks of 32) and NF4 (blocks of 64); NF4 over a sweep of block sizes.
struct BlockScalesExperiment: Experiment {
    static let name = "block-scales"
    static let summary = "Outliers, per-tensor vs per-block 4-bit scales, Q4_0's uniform grid vs NF4's normal quantiles, block-size sweep."
    /// It reads one tensor from the checkpoint (`LabContext.weight(_:)`).
    static let modelUse: ModelUse = .readsCheckpoint
    static let parameters = [
        ParameterSpec("tensor", .text, "checkpoint tensor name", default: "model.layers.0.block_sparse_moe.experts.0.w2.weight"),
        ParameterSpec("blocksizes", .list, "NF4 block sizes to sweep", default: .list(BlockScales.defaultBlocksizes.map { .int($0) })),
    ]
    let tensor: String
    let blocksizes: [Int]

    init(_ parameters: ExperimentParameters) throws {
        tensor = parameters.text("tensor")
        blocksizes = try parameters.list("blocksizes").map { text in
            guard let size = Int(text), NF4.validBlocksizes.contains(size) else {
                throw ExperimentParameterError.invalid("blocksizes", reason: "\(text) is not one of \(NF4.validBlocksizes)")
            }
            return size
        }
    }

    func run(in lab: LabContext) throws -> BlockScales {
        try BlockScales(tensor: tensor, blocksizes: blocksizes, in: lab)
    }
}
