import Quantization
import Reports

/// Lesson 1's experiment: one real weight matrix stored at several precisions — bits, bytes, error, and
/// what happens to the first few weights of the first block.
struct QuantizeTensorExperiment: Experiment {
    static let name = "quantize-tensor"
    static let summary = "Quantize one weight matrix to each precision: memory, error metrics, the first weights before and after."
    /// It reads one tensor from the checkpoint (`LabContext.weight(_:)`).
    static let modelUse: ModelUse = .readsCheckpoint
    static let parameters = [
        ParameterSpec("tensor", .text, "checkpoint tensor name", default: "model.layers.0.block_sparse_moe.experts.0.w1.weight"),
        ParameterSpec("precisions", .list, "precisions to compare with fp32", default: ["int8", "q4"]),
    ]
    static func variableKeys(_ parameters: ExperimentParameters) throws -> [String: [String]] {
        ["precisions": try parameters.precisions("precisions").map(\.rawValue)]
    }

    let tensor: String
    let precisions: [Precision]

    init(_ parameters: ExperimentParameters) throws {
        tensor = parameters.text("tensor")
        precisions = try parameters.precisions("precisions")
    }

    func run(in lab: LabContext) throws -> TensorQuantization {
        try TensorQuantization(tensor: tensor, precisions: precisions, in: lab)
    }
}
