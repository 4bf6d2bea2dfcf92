/// A GGML tensor type as a GGUF tensor info names it: its id, its name, and how many weights one block
/// holds in how many bytes. Rows (`ne[0]`, the fastest dimension) are whole blocks.
///
/// Ids, names and sizes: gguf-py `gguf/constants.py` (`GGMLQuantizationType`, `GGML_QUANT_SIZES`), the
/// same as `ggml_type` and `ggml_type_size`/`ggml_blck_size` in ggml's `ggml.c`. Ids 4 and 5 (the removed
/// Q4_2/Q4_3) and 31–33 (removed Q4_0_4_4 … repacked types) are not valid in a file.
public struct GGMLType: Hashable, Sendable, CustomStringConvertible {
    /// `ggml_type` value stored in the tensor info.
    public let id: UInt32
    /// gguf-py's name, e.g. `"Q8_0"`.
    public let name: String
    /// Weights per block (1 for the float and integer types, 32 for Q8_0/Q4_0, 256 for the K-quants).
    public let blockSize: Int
    /// Bytes per block.
    public let typeSize: Int

    public var description: String { name }

    /// Bytes of `count` weights (a multiple of `blockSize`), or nil when the product overflows.
    public func byteCount(elements count: Int) -> Int? {
        guard count % blockSize == 0 else { return nil }
        let (bytes, overflow) = (count / blockSize).multipliedReportingOverflow(by: typeSize)
        return overflow ? nil : bytes
    }

    public static let f32 = GGMLType(id: 0, name: "F32", blockSize: 1, typeSize: 4)
    public static let f16 = GGMLType(id: 1, name: "F16", blockSize: 1, typeSize: 2)
    public static let q4_0 = GGMLType(id: 2, name: "Q4_0", blockSize: 32, typeSize: 2 + 16)
    public static let q4_1 = GGMLType(id: 3, name: "Q4_1", blockSize: 32, typeSize: 2 + 2 + 16)
    public static let q5_0 = GGMLType(id: 6, name: "Q5_0", blockSize: 32, typeSize: 2 + 4 + 16)
    public static let q5_1 = GGMLType(id: 7, name: "Q5_1", blockSize: 32, typeSize: 2 + 2 + 4 + 16)
    public static let q8_0 = GGMLType(id: 8, name: "Q8_0", blockSize: 32, typeSize: 2 + 32)
    public static let q8_1 = GGMLType(id: 9, name: "Q8_1", blockSize: 32, typeSize: 4 + 4 + 32)
    public static let q2_K = GGMLType(id: 10, name: "Q2_K", blockSize: 256, typeSize: 2 + 2 + 256 / 16 + 256 / 4)
    public static let q3_K = GGMLType(id: 11, name: "Q3_K", blockSize: 256, typeSize: 2 + 256 / 4 + 256 / 8 + 12)
    public static let q4_K = GGMLType(id: 12, name: "Q4_K", blockSize: 256, typeSize: 2 + 2 + 256 / 2 + 12)
    public static let q5_K = GGMLType(id: 13, name: "Q5_K", blockSize: 256, typeSize: 2 + 2 + 256 / 2 + 256 / 8 + 12)
    public static let q6_K = GGMLType(id: 14, name: "Q6_K", blockSize: 256, typeSize: 2 + 256 / 2 + 256 / 4 + 256 / 16)
    public static let q8_K = GGMLType(id: 15, name: "Q8_K", blockSize: 256, typeSize: 4 + 256 + 256 / 8)
    public static let bf16 = GGMLType(id: 30, name: "BF16", blockSize: 1, typeSize: 2)

    /// Every type a GGUF file may hold.
    public static let all: [GGMLType] = [
        f32, f16, q4_0, q4_1, q5_0, q5_1, q8_0, q8_1, q2_K, q3_K, q4_K, q5_K, q6_K, q8_K,
        GGMLType(id: 16, name: "IQ2_XXS", blockSize: 256, typeSize: 2 + 256 / 4),
        GGMLType(id: 17, name: "IQ2_XS", blockSize: 256, typeSize: 2 + 256 / 4 + 256 / 32),
        GGMLType(id: 18, name: "IQ3_XXS", blockSize: 256, typeSize: 2 + 256 / 4 + 256 / 8),
        GGMLType(id: 19, name: "IQ1_S", blockSize: 256, typeSize: 2 + 256 / 8 + 256 / 16),
        GGMLType(id: 20, name: "IQ4_NL", blockSize: 32, typeSize: 2 + 16),
        GGMLType(id: 21, name: "IQ3_S", blockSize: 256, typeSize: 2 + 256 / 4 + 256 / 8 + 256 / 32 + 4),
        GGMLType(id: 22, name: "IQ2_S", blockSize: 256, typeSize: 2 + 256 / 4 + 256 / 16),
        GGMLType(id: 23, name: "IQ4_XS", blockSize: 256, typeSize: 2 + 2 + 256 / 2 + 256 / 64),
        GGMLType(id: 24, name: "I8", blockSize: 1, typeSize: 1),
        GGMLType(id: 25, name: "I16", blockSize: 1, typeSize: 2),
        GGMLType(id: 26, name: "I32", blockSize: 1, typeSize: 4),
        GGMLType(id: 27, name: "I64", blockSize: 1, typeSize: 8),
        GGMLType(id: 28, name: "F64", blockSize: 1, typeSize: 8),
        GGMLType(id: 29, name: "IQ1_M", blockSize: 256, typeSize: 256 / 8 + 256 / 16 + 256 / 32),
        bf16,
        GGMLType(id: 34, name: "TQ1_0", blockSize: 256, typeSize: 2 + 4 * 13),
        GGMLType(id: 35, name: "TQ2_0", blockSize: 256, typeSize: 2 + 64),
        GGMLType(id: 39, name: "MXFP4", blockSize: 32, typeSize: 1 + 16),
    ]

    private static let byID: [UInt32: GGMLType] = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })

    /// The type with this id, or nil for an id no GGUF writer uses.
    public init?(id: UInt32) {
        guard let type = GGMLType.byID[id] else { return nil }
        self = type
    }

    private init(id: UInt32, name: String, blockSize: Int, typeSize: Int) {
        self.id = id
        self.name = name
        self.blockSize = blockSize
        self.typeSize = typeSize
    }
}
