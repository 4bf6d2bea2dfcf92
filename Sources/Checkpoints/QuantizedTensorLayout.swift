import Foundation

/// How quantized weights are laid out in a safetensors checkpoint written by `mixtral-lab quantize`.
///
/// - NF4 (`nf4`, `nf4-dq`): bitsandbytes' own serialization, as transformers saves a 4-bit model
///   (`Linear4bit._save_to_state_dict` + `QuantState.as_dict(packed=True)` in bitsandbytes
///   `nn/modules.py` and `functional.py`). For a weight `X.weight`:
///   `X.weight` U8 `[(rows·cols+1)/2, 1]` packed codes; `X.weight.absmax` F32 `[blocks]` (U8 codes when
///   double-quantized); `X.weight.quant_map` F32 `[16]` the NF4 codebook;
///   `X.weight.quant_state.bitsandbytes__nf4` U8, the UTF-8 bytes of a JSON dict (`BitsAndBytesQuantState`);
///   double-quantized only: `X.weight.nested_absmax` F32 `[ceil(blocks/256)]` and
///   `X.weight.nested_quant_map` F32 `[256]` (the signed dynamic map).
/// - GGML (`int8` = Q8_0, `q4` = Q4_0) and 16-bit storage (`bf16`, `f16`): the tensor keeps its name and
///   is U8 `[rows, cols/32 · typeSize]` of GGML blocks (BF16 / F16 `[rows, cols]` for the 16-bit ones).
///   The header's `__metadata__` has `"mixtral-lab.format": "ggml"` and, per such tensor, its name →
///   GGML type name (`"Q8_0"`, `"Q4_0"`, `"BF16"`, `"F16"`, the names of gguf-py `GGMLQuantizationType`).
///   A BF16 tensor without that entry is an ordinary bf16 checkpoint weight.
/// - Calibrated experts (`gptq4`, `awq4`): Q4_0 blocks as above, and the file's `__metadata__` holds a
///   `CalibrationRecord` (what the experts were calibrated on, and the method) under `mixtral-lab.calibration`.
///   `gptq4` stores nothing else (GPTQ chooses the codes; the format is Q4_0's). `awq4` stores the blocks of
///   `W·diag(s)` and `X.weight.awq_input_scale` F32 `[cols]`, `1/s`, which the loader multiplies into the
///   input before the Q4_0 product (`InputScaledMatrix`).
/// - HQQ (`hqq2` … `hqq4`, `hqq2-f16meta` …, mixtral-lab's own layout): `X.weight` U8
///   `[rows, cols · bits/8]`, the codes packed group by group as `HQQMatrix` describes, with a
///   `__metadata__` entry as for GGML naming the settings, `HQQ<bits>_G<group>_S<scale group>` (8-bit
///   scales and zero-points) or `HQQ<bits>_G<group>_F16` (fp16). Per group of weights, in row-major order:
///   fp16: `X.weight.hqq_scale` and `X.weight.hqq_zero` F16 `[groups]`;
///   8-bit: `X.weight.hqq_scale` U8 `[groups]` with `X.weight.hqq_scale_meta` F32 `[2 · scale groups]`
///   (the decoding scales, then the zero-points, of the strided groups of scales), and
///   `X.weight.hqq_zero` U8 `[groups]` with `X.weight.hqq_zero_meta` F32 `[2]` (scale, zero-point).
public enum QuantizedTensorLayout {
    /// `__metadata__` key announcing per-tensor GGML type entries.
    public static let formatKey = "mixtral-lab.format"
    /// Value of `formatKey`.
    public static let ggmlFormat = "ggml"

    public static func absmax(_ weight: String) -> String { weight + ".absmax" }
    public static func hqqScale(_ weight: String) -> String { weight + ".hqq_scale" }
    public static func hqqZero(_ weight: String) -> String { weight + ".hqq_zero" }
    public static func hqqScaleMeta(_ weight: String) -> String { weight + ".hqq_scale_meta" }
    public static func hqqZeroMeta(_ weight: String) -> String { weight + ".hqq_zero_meta" }
    /// AWQ's per-input-channel scale `1/s` of an `awq4` weight.
    public static func awqInputScale(_ weight: String) -> String { weight + ".awq_input_scale" }

    /// The `__metadata__` type name of HQQ settings (`HQQ2_G16_S128`, `HQQ4_G64_F16`).
    public static func hqqTypeName(bits: Int, groupSize: Int, scaleGroupSize: Int?) -> String {
        "HQQ\(bits)_G\(groupSize)_" + (scaleGroupSize.map { "S\($0)" } ?? "F16")
    }

    /// Bits, group size and scale group size (nil: fp16) from an HQQ type name; nil when `name` is not one.
    public static func hqqSettings(typeName name: String) -> (bits: Int, groupSize: Int, scaleGroupSize: Int?)? {
        let parts = name.split(separator: "_")
        guard parts.count == 3, parts[0].hasPrefix("HQQ"), parts[1].hasPrefix("G"),
              let bits = Int(parts[0].dropFirst(3)), let group = Int(parts[1].dropFirst()) else { return nil }
        if parts[2] == "F16" { return (bits, group, nil) }
        guard parts[2].hasPrefix("S"), let scaleGroup = Int(parts[2].dropFirst()) else { return nil }
        return (bits, group, scaleGroup)
    }
    public static func quantMap(_ weight: String) -> String { weight + ".quant_map" }
    public static func nestedAbsmax(_ weight: String) -> String { weight + ".nested_absmax" }
    public static func nestedQuantMap(_ weight: String) -> String { weight + ".nested_quant_map" }
    /// `X.weight.quant_state.bitsandbytes__<quant_type>` (bitsandbytes accepts `nf4` and `fp4`).
    public static func quantState(_ weight: String, quantType: String) -> String {
        weight + ".quant_state.bitsandbytes__" + quantType
    }
}

/// The non-tensor part of a bitsandbytes 4-bit `QuantState`, stored as the UTF-8 bytes of
/// `json.dumps(dict)` (`pack_dict_to_tensor` in bitsandbytes `utils.py`), e.g.
/// `{"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [64, 128]}`, plus
/// `"nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": 0.0123` when double-quantized.
public struct BitsAndBytesQuantState: Equatable, Sendable {
    /// `"nf4"` or `"fp4"`.
    public var quantType: String
    /// Weights per block.
    public var blocksize: Int
    /// The torch dtype of the weight before quantization, without `torch.` (`"float32"`, `"bfloat16"`).
    public var dtype: String
    /// The weight's shape, `[rows, cols]`.
    public var shape: [Int]
    /// Double quantization of the absmax: second-level blocksize, its dtype, and the mean subtracted first.
    public var nested: Nested?

    public struct Nested: Equatable, Sendable {
        public var blocksize: Int
        public var dtype: String
        public var offset: Float
        public init(blocksize: Int, dtype: String, offset: Float) {
            self.blocksize = blocksize
            self.dtype = dtype
            self.offset = offset
        }
    }

    public init(quantType: String, blocksize: Int, dtype: String, shape: [Int], nested: Nested?) {
        self.quantType = quantType
        self.blocksize = blocksize
        self.dtype = dtype
        self.shape = shape
        self.nested = nested
    }

    /// The bytes Python's `json.dumps` gives for the dict `QuantState.as_dict` builds: keys in its order,
    /// `", "` and `": "` separators, the offset as the shortest decimal that reads back as the same value
    /// (Python's float repr; the fp32 offset is widened to a double first, as `tensor.item()` does).
    public var jsonBytes: [UInt8] {
        func quoted(_ s: String) -> String { "\"\(s)\"" }
        var items = ["\"quant_type\": \(quoted(quantType))", "\"blocksize\": \(blocksize)",
                     "\"dtype\": \(quoted(dtype))", "\"shape\": [\(shape.map(String.init).joined(separator: ", "))]"]
        if let nested {
            items += ["\"nested_blocksize\": \(nested.blocksize)", "\"nested_dtype\": \(quoted(nested.dtype))",
                      "\"nested_offset\": \(Double(nested.offset))"]
        }
        return Array(("{" + items.joined(separator: ", ") + "}").utf8)
    }

    /// Parses stored bytes.
    /// - Throws: `CheckpointError.badTensor` naming `tensor` in `path` when the bytes are not a JSON object
    ///   or a field is missing or has the wrong type.
    public init(jsonBytes: UnsafeRawBufferPointer, path: String, tensor: String) throws {
        func bad(_ reason: String) -> CheckpointError { .badTensor(path: path, tensor: tensor, reason: reason) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(jsonBytes)) as? [String: Any] else {
            throw bad("is not the UTF-8 bytes of a JSON object (bitsandbytes quant_state)")
        }
        func field<T>(_ key: String, _ type: T.Type) throws -> T {
            guard let value = object[key] as? T else { throw bad("quant_state has no valid \"\(key)\"") }
            return value
        }
        quantType = try field("quant_type", String.self)
        blocksize = try field("blocksize", Int.self)
        dtype = try field("dtype", String.self)
        shape = try field("shape", [Int].self)
        if object["nested_offset"] != nil || object["nested_blocksize"] != nil {
            nested = Nested(blocksize: try field("nested_blocksize", Int.self),
                            dtype: try field("nested_dtype", String.self),
                            offset: Float(try field("nested_offset", Double.self)))
        } else {
            nested = nil
        }
    }
}
