import Testing
import Foundation
import Tensors
import Checkpoints
import Engine
import Quantization
import TestSupport

/// `QuantizedWeights.storedByteCount` (what `info` says `quantize` will write) against what `add` really
/// writes, for every precision, on shapes whose group counts do and do not fill the last group of scales.
struct StoredByteCountTests {
    /// [3, 64]: hqq4's 3 groups fill no group of 256 scales; [5, 384]: 30 NF4 blocks, one nested block;
    /// [16, 256]: 256 hqq2 groups, two groups of 128 scales.
    static let shapes = [(3, 64), (5, 384), (16, 256)]

    /// `weight` as `add` stores it at `precision`; gptq4 and awq4 (calibrated in the engine) as the Q4_0
    /// blocks they store, awq4 with its input scales.
    private func stored(_ weight: Matrix, _ precision: Precision) throws -> any LinearOperator {
        switch precision {
        case .gptq4: return GPTQMatrix(blocks: try Q4_0Matrix(quantizing: weight, tensorName: "w"))
        case .awq4: return InputScaledMatrix(inner: try Q4_0Matrix(quantizing: weight, tensorName: "w"),
                                             inputScale: [Float](repeating: 1, count: weight.cols))
        default: return try quantize(weight, to: precision, tensorName: "w")
        }
    }

    @Test(arguments: Precision.allCases)
    func theCountIsWhatAddWrites(precision: Precision) throws {
        var random = SplitMix64(seed: 11)
        for (rows, cols) in Self.shapes {
            let weight = Matrix(rows: rows, cols: cols, values: (0..<rows * cols).map { _ in Float(random.normal() * 0.02) })
            var writer = SafeTensorsWriter(metadata: [:])
            QuantizedWeights.add(try stored(weight, precision), as: "w", to: &writer)
            let counted = QuantizedWeights.storedByteCount(rows: rows, cols: cols, precision: precision)
            if precision == .nf4dq {
                // its quant_state's offset is a decimal of the data's mean absmax: counted at 20 characters
                #expect(abs(counted - writer.dataByteCount) <= 3, "\(precision) [\(rows), \(cols)]: \(counted) against \(writer.dataByteCount)")
            } else {
                #expect(counted == writer.dataByteCount, "\(precision) [\(rows), \(cols)]")
            }
        }
    }
}
