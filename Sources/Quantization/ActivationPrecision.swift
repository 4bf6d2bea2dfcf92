import CKernels

/// How activations meet packed Q8_0/Q4_0 weights in a matrix product (`--activations`).
///
/// - `fp32` (the default and the reference): each weight block is decoded to fp32 and multiplied with
///   the fp32 activations, so a quantized model's error is its weights' error alone.
/// - `q8`: each token's activations are first rounded per block of 32 to Q8_0, exactly as llama.cpp
///   does before its Q8_0/Q4_0 dot products (`quantize_row_q8_0`, ggml-cpu arch/x86/quants.c), then
///   multiplied as integers (`IntegerKernel`) and scaled per block by `d_w · d_x` (HQQ: per group by its
///   scale, the fractional zero-point taken off with the activations' code sums, `HQQMatrix.applyRounded`).
///   Faster, and adds the activations' rounding error (≤ d_x / 2 per value) on top of the weights'.
///   Other formats (fp32, bf16, f16, NF4, and HQQ with group sizes that do not tile blocks of 32) ignore it.
public enum ActivationPrecision: String, CaseIterable, Sendable {
    case fp32
    case q8

    /// The precision the products on this task use; `MixtralModel.forward` binds its model's setting.
    @TaskLocal public static var current: ActivationPrecision = .fp32
}

/// An implementation of the integer products (Sources/CKernels). All give the same fp32 results bit for
/// bit: per row, token and block the exact integer sum S = Σ w·x, then `y = fma(Float(S), d_w · d_x, y)`
/// over the blocks in order (`ck_q8_0_products` in CKernels.h).
public enum IntegerKernel: CaseIterable, Sendable {
    /// Plain C loops (any CPU; the tests' reference).
    case scalar
    /// x86-64 AVX2: `vpmaddubsw` + `vpmaddwd`.
    case avx2
    /// x86-64 AVX-VNNI: `vpdpbusd`.
    case avxVNNI
    /// ARMv8.2 dot-product extension: `sdot`.
    case neonDot

    var path: ck_path {
        switch self {
        case .scalar: return CK_PATH_SCALAR
        case .avx2: return CK_PATH_AVX2
        case .avxVNNI: return CK_PATH_AVX_VNNI
        case .neonDot: return CK_PATH_NEON_DOT
        }
    }

    /// Whether this CPU can run it (checked at run time).
    public var isAvailable: Bool { ck_path_available(path) != 0 }

    /// The fastest kernel this CPU runs.
    public static let best: IntegerKernel = allCases.first { $0.path == ck_best_path() } ?? .scalar
}

/// `n` tokens of activations rounded to Q8_0 (`ck_quantize_activations`), in caller-provided storage.
public struct RoundedActivations {
    /// `[n · cols]` codes in −127…127.
    public let codes: UnsafeMutablePointer<Int8>
    /// `[n · cols/32]` per-block scales d (fp16 values as fp32).
    public let scales: UnsafeMutablePointer<Float>
    /// `[n · cols/32]` per-block Σ codes.
    public let sums: UnsafeMutablePointer<Int32>

    /// Rounds `x: [n, cols]` (cols a multiple of 32) into temporary storage and passes it to `body`.
    public static func with<R>(_ x: UnsafePointer<Float>, tokens n: Int, cols: Int,
                               _ body: (RoundedActivations) throws -> R) rethrows -> R {
        let blocks = n * cols / ggmlBlockSize
        return try withUnsafeTemporaryAllocation(of: Int8.self, capacity: n * cols) { codes in
            try withUnsafeTemporaryAllocation(of: Float.self, capacity: blocks) { scales in
                try withUnsafeTemporaryAllocation(of: Int32.self, capacity: blocks) { sums in
                    let rounded = RoundedActivations(codes: codes.baseAddress!, scales: scales.baseAddress!,
                                                     sums: sums.baseAddress!)
                    ck_quantize_activations(x, Int32(blocks), rounded.codes, rounded.scales, rounded.sums)
                    return try body(rounded)
                }
            }
        }
    }
}
