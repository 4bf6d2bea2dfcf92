import Tensors
import UserInput

/// Quantizes a weight `[out, in]` to `precision`, packed; the result computes on the packed form.
///
/// - `fp32` returns `weight` itself; `nf4` and `nf4-dq` use bitsandbytes' default blocksize 64; the HQQ
///   precisions quantize the whole tensor at once (`HQQ.quantize`: its early stop looks at the tensor).
/// - Throws: `QuantizeError` naming `tensorName` — a NaN/Inf weight, a row length that is not a
///   multiple of 32 for int8/q4 (of the group size for HQQ), or a value whose fp16 scale (int8, q4) or 16-bit storage (bf16, f16)
///   would overflow to Inf.
public func quantize(_ weight: Matrix, to precision: Precision, tensorName: String) throws -> any LinearOperator {
    switch precision {
    case .fp32: return weight
    case .bf16: return try BF16Matrix(quantizing: weight, tensorName: tensorName)
    case .f16: return try F16Matrix(quantizing: weight, tensorName: tensorName)
    case .int8: return try Q8_0Matrix(quantizing: weight, tensorName: tensorName)
    case .q4: return try Q4_0Matrix(quantizing: weight, tensorName: tensorName)
    case .nf4: return try NF4Matrix(quantizing: weight, tensorName: tensorName)
    case .nf4dq: return try NF4Matrix(quantizing: weight, tensorName: tensorName, doubleQuantization: true)
    case .hqq4, .hqq3, .hqq2, .hqq4HalfMetadata, .hqq3HalfMetadata, .hqq2HalfMetadata:
        return try HQQMatrix(quantizing: weight, tensorName: tensorName, settings: precision.hqqSettings!)
    case .gptq4, .awq4: throw QuantizeError.needsCalibration(tensor: tensorName, precision: precision.rawValue)
    }
}

/// Why a weight tensor cannot be stored in a precision. (`ErrorMetrics` measures the error of a
/// successful quantization.)
public enum QuantizeError: UserInputError, Equatable {
    /// A NaN or ±Inf weight at `[row, column]`.
    case nonFiniteWeight(tensor: String, row: Int, column: Int, value: Float)
    /// GGML formats quantize blocks of 32 along a row (`QK8_0`, `QK4_0` in ggml-common.h); the row
    /// length `cols` must be a multiple of it.
    case rowLengthNotMultipleOfBlock(tensor: String, format: String, cols: Int, blockSize: Int)
    /// Storing the value at `[row, column]` would overflow to Inf: the block's fp16 scale for Q8_0/Q4_0
    /// (block absmax above about `limit`), or the value itself for f16/bf16. The tensor is refused rather
    /// than stored as Inf (which is what gguf-py and ggml would write).
    case overflow(tensor: String, format: String, row: Int, column: Int, value: Float, limit: Float)
    /// bitsandbytes accepts blocksizes 32, 64, …, 4096 (powers of two).
    case invalidBlocksize(tensor: String, blocksize: Int)
    /// `gptq4` and `awq4` quantize the experts with calibration inputs, when a model loads; a lone tensor cannot be.
    case needsCalibration(tensor: String, precision: String)

    public var description: String {
        switch self {
        case .nonFiniteWeight(let tensor, let row, let column, let value):
            return "tensor '\(tensor)': weight [\(row), \(column)] is \(value); cannot quantize a tensor with NaN or Inf"
        case .rowLengthNotMultipleOfBlock(let tensor, let format, let cols, let blockSize):
            return "tensor '\(tensor)': rows of \(cols) values are not a multiple of the \(format) block of \(blockSize); keep it at fp32, bf16 or nf4"
        case .overflow(let tensor, let format, let row, let column, let value, let limit):
            return "tensor '\(tensor)': |\(value)| at [\(row), \(column)] overflows \(format) (largest storable magnitude ≈ \(limit)); keep this tensor at fp32 or bf16"
        case .needsCalibration(let tensor, let precision):
            return "tensor '\(tensor)': \(precision) is calibrated on held-out text when a model loads its experts (--precision experts=\(precision) or q4,experts=\(precision)); it cannot quantize a lone tensor, other tensor classes, a checkpoint written by quantize/export, or experts streamed from disk under --ram-budget"
        case .invalidBlocksize(let tensor, let blocksize):
            return "tensor '\(tensor)': NF4 blocksize \(blocksize) is not one of 32, 64, 128, 256, 512, 1024, 2048, 4096"
        }
    }
}

/// Throws `QuantizeError.nonFiniteWeight` for the first NaN or ±Inf in `weight`.
func requireFinite(_ weight: Matrix, tensorName: String) throws {
    let firstBad: Int? = weight.values.withUnsafeBufferPointer { w in
        let n = w.count
        let p = w.baseAddress!
        // x − x is 0 for finite x and NaN for NaN or ±Inf; a sum of them is 0 only if all are finite.
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= n {
            let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
            acc += v - v
            i += 16
        }
        var tail: Float = 0
        while i < n { tail += p[i] - p[i]; i += 1 }
        if acc.sum() + tail == 0 { return nil }
        return (0..<n).first { !p[$0].isFinite }
    }
    if let index = firstBad {
        throw QuantizeError.nonFiniteWeight(tensor: tensorName, row: index / weight.cols,
                                            column: index % weight.cols, value: weight.values[index])
    }
}
