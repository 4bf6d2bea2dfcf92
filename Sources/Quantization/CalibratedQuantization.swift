import Foundation
import Tensors
import CBLAS

/// A symmetric b-bit grid on blocks of 32 weights along a row — Q4_0's rule (`Q4_0.quantizeBlock`) with the
/// number of levels as a parameter: `m` = the block's signed value of largest magnitude (first on ties),
/// `d = m / −2^(b−1)`, `q = clamp(floor(w·(1/d) + 2^(b−1) + 0.5), 0, 2^b − 1)` in fp32, and the weight comes back
/// as `(q − 2^(b−1)) · fp16(d)`. At 4 bits round-to-nearest on this grid is exactly Q4_0.
///
/// The grid shared by round-to-nearest, `GPTQ` and `AWQ` below, so that the three differ only in how they
/// choose the codes. `tools/make_calibration_fixtures.py` is its numpy reference.
public struct BlockGrid: Sendable, Equatable {
    public static let blockSize = 32
    /// Bits per code (2…8).
    public let bits: Int

    public init(bits: Int) {
        precondition((2...8).contains(bits), "BlockGrid: \(bits) bits")
        self.bits = bits
    }

    var half: Float { Float(1 << (bits - 1)) }
    var maxCode: Float { Float((1 << bits) - 1) }

    /// Storage per weight: the code plus a 16-bit scale per block of 32.
    public var bitsPerWeight: Double { Double(bits) + 16.0 / Double(Self.blockSize) }

    /// The block's scale `d` (fp32, for coding) and `fp16(d)` (for decoding) from its 32 values at `block`.
    @inline(__always)
    func scale(of block: UnsafePointer<Float>) -> (inverse: Float, decoded: Float) {
        var m: Float = 0
        for i in 0..<Self.blockSize where abs(block[i]) > abs(m) { m = block[i] }
        let d = m / -half
        let inverse: Float = d == 0 ? 0 : 1 / d
        return (inverse.isFinite ? inverse : 0, Float(Float16(d)))
    }

    /// The code (0…2^b − 1) of `w` with a block's scale.
    @inline(__always)
    func code(_ w: Float, inverse: Float) -> Float {
        min(max((w * inverse + (half + 0.5)).rounded(.down), 0), maxCode)
    }

    /// The weight `w` coded with a block's scale and decoded again.
    @inline(__always)
    func roundTrip(_ w: Float, inverse: Float, decoded: Float) -> Float {
        (code(w, inverse: inverse) - half) * decoded
    }

    /// Round-to-nearest: every block of every row coded on its own scale. `[out, in]`, `in` a multiple of 32.
    public func roundToNearest(_ weight: Matrix) -> Matrix {
        precondition(weight.cols % Self.blockSize == 0, "BlockGrid: rows of \(weight.cols) weights")
        var out = weight.values
        out.withUnsafeMutableBufferPointer { o in
            for start in stride(from: 0, to: o.count, by: Self.blockSize) {
                let block = o.baseAddress! + start
                let s = scale(of: UnsafePointer(block))
                for i in 0..<Self.blockSize { block[i] = roundTrip(block[i], inverse: s.inverse, decoded: s.decoded) }
            }
        }
        return Matrix(rows: weight.rows, cols: weight.cols, values: out)
    }
}

/// GPTQ (Frantar et al. 2023, *GPTQ: Accurate Post-Training Quantization for Generative Pre-trained
/// Transformers*, Algorithm 1): quantize a weight one input column at a time and spread each column's rounding
/// error over the columns not yet quantized, weighted by the inverse Hessian of the layer's squared output
/// error on calibration inputs, `H = 2XᵀX/n`. Follows the reference implementation (IST-DASLab/gptq,
/// `gptq.py` `fasterquant`) with its defaults — dampening 1 % of the mean diagonal, columns in order
/// (no act-order), a column whose input is always 0 set to 0 — and its group handling: a block's scale is
/// taken from the *updated* weights when the first column of the block is reached. The lazy batch updates
/// of the reference only reorder the same arithmetic and are left out.
public enum GPTQ {
    /// Reference default `percdamp`.
    public static let dampening = 0.01

    /// The settings a checkpoint records beside GPTQ's weights (`CalibrationRecord.parameters`).
    public static let parameters = ["dampening": "\(dampening) of the mean diagonal of H", "order": "columns in order (no act-order)",
                                    "block": "\(BlockGrid.blockSize) weights, Q4_0 grid", "dead_columns": "zeroed"]

    /// - Parameters:
    ///   - weight: `[out, in]`, `in` a multiple of 32.
    ///   - inputs: calibration inputs `[n, in]` (rows are tokens). With no rows, round-to-nearest is returned.
    /// - Returns: the quantized weight, decoded, `[out, in]`.
    public static func quantize(_ weight: Matrix, inputs: Matrix, grid: BlockGrid) -> Matrix {
        Matrix(rows: weight.rows, cols: weight.cols, values: run(weight, inputs: inputs, grid: grid).decoded)
    }

    /// GPTQ at 4 bits stored as GGML Q4_0 blocks (the grid's codes and fp16 scales, which are Q4_0's format).
    public static func quantizeToQ4_0(_ weight: Matrix, inputs: Matrix) -> GPTQMatrix {
        let result = run(weight, inputs: inputs, grid: BlockGrid(bits: 4))
        let blocksPerRow = weight.cols / BlockGrid.blockSize
        var bytes = [UInt8](repeating: 0, count: weight.rows * blocksPerRow * Q4_0.typeSize)
        for r in 0..<weight.rows {
            for b in 0..<blocksPerRow {
                let offset = (r * blocksPerRow + b) * Q4_0.typeSize
                let scale = result.scaleBits[r * blocksPerRow + b]
                bytes[offset] = UInt8(scale & 0xFF)
                bytes[offset + 1] = UInt8(scale >> 8)
                let first = r * weight.cols + b * BlockGrid.blockSize
                for j in 0..<16 { bytes[offset + 2 + j] = result.codes[first + j] | (result.codes[first + j + 16] << 4) }
            }
        }
        return GPTQMatrix(blocks: Q4_0Matrix(rows: weight.rows, cols: weight.cols, blocks: bytes))
    }

    /// The decoded weight `[out, in]`, its codes `[out, in]` and each block's fp16 scale bits `[out, in/32]`.
    private static func run(_ weight: Matrix, inputs: Matrix, grid: BlockGrid) -> (decoded: [Float], codes: [UInt8], scaleBits: [UInt16]) {
        precondition(inputs.cols == weight.cols, "GPTQ: inputs of \(inputs.cols) features for a weight of \(weight.cols) columns")
        let rows = weight.rows, cols = weight.cols
        // H = 2/n · XᵀX, in fp64 (no inputs: H = 0, every column dead — round-to-nearest then, see below).
        var h = gram(inputs).map { inputs.rows > 0 ? 2 * $0 / Double(inputs.rows) : 0 }
        let noInputs = inputs.rows == 0
        // W transposed, [in][out] in fp64, so that one input column is contiguous.
        var w = [Double](repeating: 0, count: rows * cols)
        for r in 0..<rows { for c in 0..<cols { w[c * rows + r] = Double(weight.values[r * cols + c]) } }
        var meanDiagonal = 0.0
        for c in 0..<cols {
            if h[c * cols + c] == 0 {
                h[c * cols + c] = 1
                // The reference zeroes a column no calibration input uses; with no inputs at all that would
                // zero the weight, so it is rounded to nearest instead (H = I then spreads no error).
                if !noInputs { for r in 0..<rows { w[c * rows + r] = 0 } }
            }
            meanDiagonal += h[c * cols + c]
        }
        let damp = dampening * meanDiagonal / Double(cols)
        for c in 0..<cols { h[c * cols + c] += damp }
        // U: the upper Cholesky factor of H⁻¹ (H⁻¹ = UᵀU), as `torch.linalg.cholesky(H⁻¹, upper=True)`.
        let u = upperCholesky(inverseSPD(h, n: cols), n: cols)

        var quantized = [Float](repeating: 0, count: rows * cols)
        var codes = [UInt8](repeating: 0, count: rows * cols)
        var scaleBits = [UInt16](repeating: 0, count: rows * cols / BlockGrid.blockSize)
        var scales = [(inverse: Float, decoded: Float)](repeating: (0, 0), count: rows)
        var error = [Double](repeating: 0, count: rows)
        var block = [Float](repeating: 0, count: BlockGrid.blockSize)
        for c in 0..<cols {
            if c % BlockGrid.blockSize == 0 {
                for r in 0..<rows {
                    for i in 0..<BlockGrid.blockSize { block[i] = Float(w[(c + i) * rows + r]) }
                    scales[r] = block.withUnsafeBufferPointer { grid.scale(of: $0.baseAddress!) }
                    scaleBits[r * (cols / BlockGrid.blockSize) + c / BlockGrid.blockSize] = Float16(scales[r].decoded).bitPattern
                }
            }
            let pivot = u[c * cols + c]
            for r in 0..<rows {
                let value = w[c * rows + r]
                let code = grid.code(Float(value), inverse: scales[r].inverse)
                let q = (code - grid.half) * scales[r].decoded
                codes[r * cols + c] = UInt8(code)
                quantized[r * cols + c] = q
                error[r] = (value - Double(q)) / pivot
            }
            // Spread the error over the columns not yet quantized, W[:, j] −= err · U[c, j] for j > c: one
            // rank-1 update of the transposed trailing columns.
            let rest = cols - c - 1
            if rest > 0 {
                u.withUnsafeBufferPointer { up in
                    w.withUnsafeMutableBufferPointer { wp in
                        cblas_dger(CblasRowMajor, Int32(rest), Int32(rows), -1, up.baseAddress! + c * cols + c + 1, 1,
                                   error, 1, wp.baseAddress! + (c + 1) * rows, Int32(rows))
                    }
                }
            }
        }
        return (quantized, codes, scaleBits)
    }
}

/// A weight GPTQ quantized (`gptq4`): Q4_0 blocks, computed by Q4_0's kernels, under its own format name so
/// that a loaded model says which method made it.
public struct GPTQMatrix: LinearOperator {
    public let blocks: Q4_0Matrix

    public init(blocks: Q4_0Matrix) { self.blocks = blocks }

    public var outFeatures: Int { blocks.outFeatures }
    public var inFeatures: Int { blocks.inFeatures }
    public var byteCount: Int { blocks.byteCount }
    public var formatName: String { Precision.gptq4.rawValue }
    public func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) { blocks.apply(x, into: y) }
    public func apply(batch n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) { blocks.apply(batch: n, x, into: y) }
    public func decodeRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) { blocks.decodeRows(range, into: out) }
    public func dequantized() -> Matrix { blocks.dequantized() }
}

/// AWQ (Lin et al. 2024, *AWQ: Activation-aware Weight Quantization for LLM Compression and Acceleration*,
/// section 3.2): scale each input channel of the weight by `s = mean|x|^α` before rounding, so that channels
/// carrying large activations ("salient") are rounded more finely, and divide the input by `s` (real AWQ folds
/// `1/s` into the previous operation). `α` is searched on a grid of 20 points in [0, 1) for the smallest squared
/// error of the layer's output on the calibration inputs, and `s` is normalised by `√(max s · min s)` — the
/// defaults of AutoAWQ's `_search_best_scale` (`n_grid = 20`, scales clamped at 1e-4). Unlike AutoAWQ, the error
/// is measured on this one layer's output (AutoAWQ measures the block the layers feed) and no clipping search
/// follows.
public enum AWQ {
    /// AutoAWQ `n_grid`.
    public static let gridPoints = 20
    /// AutoAWQ's lower clamp of the scales before normalising.
    public static let scaleFloor: Float = 1e-4

    /// The settings a checkpoint records beside AWQ's weights (`CalibrationRecord.parameters`).
    public static let parameters = ["alpha_grid": "\(gridPoints) points in [0, 1)", "scale_floor": "\(scaleFloor)",
                                    "loss": "this layer's output error", "clipping_search": "none",
                                    "block": "\(BlockGrid.blockSize) weights, Q4_0 grid"]

    public struct Result: Sendable {
        /// The effective weight `Q(W·diag(s)) · diag(1/s)`, `[out, in]`.
        public let weight: Matrix
        /// The chosen exponent α.
        public let alpha: Double
        /// `s`, `[in]`.
        public let scales: [Float]
    }

    /// - Parameters:
    ///   - weight: `[out, in]`, `in` a multiple of 32.
    ///   - inputs: calibration inputs `[n, in]`. With no rows α = 0 (s = 1: round-to-nearest).
    public static func quantize(_ weight: Matrix, inputs: Matrix, grid: BlockGrid) -> Result {
        precondition(inputs.cols == weight.cols, "AWQ: inputs of \(inputs.cols) features for a weight of \(weight.cols) columns")
        let rows = weight.rows, cols = weight.cols
        var meanMagnitude = [Float](repeating: 0, count: cols)
        for t in 0..<inputs.rows { for c in 0..<cols { meanMagnitude[c] += abs(inputs.values[t * cols + c]) } }
        if inputs.rows > 0 { for c in 0..<cols { meanMagnitude[c] /= Float(inputs.rows) } }
        // ‖X δᵀ‖² = Σ_rows δ_r G δ_rᵀ with G = XᵀX: one [cols, cols] product per candidate instead of one per token.
        let g = gram(inputs).map { Float($0) }
        var best: Result?
        var bestLoss = Double.infinity
        for step in 0..<gridPoints {
            let alpha = Double(step) / Double(gridPoints)
            var s = meanMagnitude.map { max(pow($0, Float(alpha)), scaleFloor) }
            let norm = (s.max()! * s.min()!).squareRoot()
            s = s.map { $0 / norm }
            var scaled = weight.values
            for r in 0..<rows { for c in 0..<cols { scaled[r * cols + c] *= s[c] } }
            var effective = grid.roundToNearest(Matrix(rows: rows, cols: cols, values: scaled)).values
            for r in 0..<rows { for c in 0..<cols { effective[r * cols + c] /= s[c] } }
            let delta = zip(weight.values, effective).map { $0 - $1 }
            let loss = inputs.rows == 0 ? 0 : quadraticForm(delta, g, rows: rows, cols: cols)
            if loss < bestLoss {
                bestLoss = loss
                best = Result(weight: Matrix(rows: rows, cols: cols, values: effective), alpha: alpha, scales: s)
            }
        }
        return best!
    }
}

extension AWQ {
    /// AWQ at 4 bits stored as GGML Q4_0 blocks of `W·diag(s)` with `1/s` applied to the input
    /// (`InputScaledMatrix`; its decoded weight equals `quantize(_:inputs:grid:)`'s up to the fp32 rounding of
    /// multiplying by `1/s` instead of dividing by `s`).
    /// - Throws: `QuantizeError` when a scaled block overflows Q4_0's fp16 scale.
    public static func quantizeToQ4_0(_ weight: Matrix, inputs: Matrix, tensorName: String) throws -> InputScaledMatrix {
        let s = quantize(weight, inputs: inputs, grid: BlockGrid(bits: 4)).scales
        var scaled = weight.values
        for r in 0..<weight.rows { for c in 0..<weight.cols { scaled[r * weight.cols + c] *= s[c] } }
        let inner = try Q4_0Matrix(quantizing: Matrix(rows: weight.rows, cols: weight.cols, values: scaled), tensorName: tensorName)
        return InputScaledMatrix(inner: inner, inputScale: s.map { 1 / $0 })
    }
}

/// Σ_r δ_r G δ_rᵀ for `δ: [rows, cols]`, symmetric `G: [cols, cols]` (fp32 product, fp64 sum).
func quadraticForm(_ delta: [Float], _ g: [Float], rows: Int, cols: Int) -> Double {
    var product = [Float](repeating: 0, count: rows * cols)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(cols), Int32(cols), 1,
                delta, Int32(cols), g, Int32(cols), 0, &product, Int32(cols))
    var sum = 0.0
    for i in 0..<(rows * cols) { sum += Double(delta[i]) * Double(product[i]) }
    return sum
}

/// XᵀX `[cols, cols]` of `X: [n, cols]`, in fp64.
public func gram(_ x: Matrix) -> [Double] {
    let values = x.values.map(Double.init)
    var g = [Double](repeating: 0, count: x.cols * x.cols)
    guard x.rows > 0 else { return g }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(x.cols), Int32(x.cols), Int32(x.rows), 1,
                values, Int32(x.cols), values, Int32(x.cols), 0, &g, Int32(x.cols))
    return g
}

/// Lower Cholesky factor L of a symmetric positive definite `a: [n, n]` (a = LLᵀ), row-major.
private func lowerCholesky(_ a: [Double], n: Int) -> [Double] {
    var l = [Double](repeating: 0, count: n * n)
    l.withUnsafeMutableBufferPointer { lp in
        let l = lp.baseAddress!
        for i in 0..<n {
            for j in 0...i {
                var sum = a[i * n + j]
                let rowI = l + i * n, rowJ = l + j * n
                for k in 0..<j { sum -= rowI[k] * rowJ[k] }
                l[i * n + j] = i == j ? sum.squareRoot() : sum / l[j * n + j]
            }
        }
    }
    return l
}

/// Upper factor U with a = UᵀU: the transpose of the lower factor.
private func upperCholesky(_ a: [Double], n: Int) -> [Double] {
    let l = lowerCholesky(a, n: n)
    var u = [Double](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n { u[i * n + j] = l[j * n + i] } }
    return u
}

/// The inverse of a symmetric positive definite matrix through its Cholesky factor (`torch.cholesky_inverse`):
/// `L⁻¹` by a triangular solve, then `A⁻¹ = L⁻ᵀ L⁻¹`.
private func inverseSPD(_ a: [Double], n: Int) -> [Double] {
    let l = lowerCholesky(a, n: n)
    var inverseL = [Double](repeating: 0, count: n * n)
    for i in 0..<n { inverseL[i * n + i] = 1 }
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, Int32(n), Int32(n), 1,
                l, Int32(n), &inverseL, Int32(n))
    var inverse = [Double](repeating: 0, count: n * n)
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1,
                inverseL, Int32(n), inverseL, Int32(n), 0, &inverse, Int32(n))
    return inverse
}
