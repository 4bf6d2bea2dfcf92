import Foundation
import UserInput

/// A storage precision for a weight tensor.
///
/// - `fp32`: dense `Matrix`, 32 bits per weight.
/// - `bf16`, `f16`: storage precisions, round-to-nearest-even (`BF16Matrix`, `F16Matrix`), 16 bits.
/// - `int8`: GGML Q8_0 (`Q8_0Matrix`), 8.5 bits — what llama.cpp and Ollama call q8_0.
/// - `q4`: GGML Q4_0 (`Q4_0Matrix`), 4.5 bits.
/// - `nf4`: bitsandbytes NF4 with blocksize 64 (`NF4Matrix`), 4.5 bits.
/// - `nf4dq` (`"nf4-dq"`): NF4 with bitsandbytes' double quantization of the absmax values, ≈ 4.13 bits.
/// - `hqq4`, `hqq3`, `hqq2`: HQQ (`HQQMatrix`) as Eliseev & Mazur 2023 run Mixtral: 4-bit and 3-bit codes
///   in groups of 64, 2-bit in groups of 16, scales and zero-points quantized to 8 bits (≈ 4.25, 3.26 and
///   3.03 bits).
/// - `hqq4-f16meta`, `hqq3-f16meta`, `hqq2-f16meta`: the same codes with fp16 scales and zero-points, as
///   hqq 0.2.8 keeps them by default (4.5, 3.5 and 4 bits).
/// - `gptq4`, `awq4`: the experts calibrated onto Q4_0's grid by GPTQ or AWQ (lesson 11; `needsCalibration`).
public enum Precision: String, CaseIterable, Sendable {
    case fp32, bf16, f16, int8, q4, nf4
    case nf4dq = "nf4-dq"
    case hqq4, hqq3, hqq2
    case hqq4HalfMetadata = "hqq4-f16meta"
    case hqq3HalfMetadata = "hqq3-f16meta"
    case hqq2HalfMetadata = "hqq2-f16meta"
    /// Calibrated on held-out text when the model loads (`MixtralModel(checkpoint:precision:)`), experts only.
    case gptq4, awq4

    /// The HQQ settings of an HQQ precision, nil for the others.
    public var hqqSettings: HQQ.Settings? {
        switch self {
        case .hqq4: return .paper(bits: 4)
        case .hqq3: return .paper(bits: 3)
        case .hqq2: return .paper(bits: 2)
        case .hqq4HalfMetadata: return .halfMetadata(bits: 4)
        case .hqq3HalfMetadata: return .halfMetadata(bits: 3)
        case .hqq2HalfMetadata: return .halfMetadata(bits: 2)
        default: return nil
        }
    }

    /// Whether the weights need calibration inputs to be quantized (`gptq4`, `awq4`): they cannot be quantized
    /// one tensor at a time by `quantize(_:to:tensorName:)`.
    public var needsCalibration: Bool { self == .gptq4 || self == .awq4 }

    /// Storage bits per weight for a large tensor (scales included, per-tensor constants left out):
    /// Q8_0 34 bytes / 32, Q4_0 18 bytes / 32 (also gptq4, awq4: Q4_0 blocks; awq4 adds one fp32 scale per
    /// input column), NF4 4 + 32/64, NF4-dq 4 + 8/64 + 32/(64·256), HQQ `HQQ.Settings.nominalBitsPerWeight`.
    public var nominalBitsPerWeight: Double {
        if let hqq = hqqSettings { return hqq.nominalBitsPerWeight }
        switch self {
        case .fp32: return 32
        case .bf16, .f16: return 16
        case .int8: return 8.5
        case .q4, .nf4: return 4.5
        case .nf4dq: return 4 + 8.0 / 64 + 32.0 / (64 * 256)
        case .gptq4, .awq4: return 4.5
        case .hqq4, .hqq3, .hqq2, .hqq4HalfMetadata, .hqq3HalfMetadata, .hqq2HalfMetadata:
            preconditionFailure("HQQ precisions are handled above")
        }
    }
}

/// The classes of weight tensors in a Mixtral checkpoint that can be given their own precision.
///
/// Raw values are the names used in a precision spec (`attn=int8,experts=nf4,…`).
public enum TensorClass: String, CaseIterable, Sendable {
    /// `self_attn.{q,k,v,o}_proj` (GGUF `attn_q`, `attn_k`, `attn_v`, `attn_output`).
    case attention = "attn"
    /// `block_sparse_moe.experts.E.w1|w2|w3` (GGUF `ffn_gate_exps`, `ffn_down_exps`, `ffn_up_exps`).
    case experts
    /// `block_sparse_moe.gate`, the router `[numExperts, hiddenSize]` (GGUF `ffn_gate_inp`).
    case router
    /// `model.embed_tokens` `[vocabSize, hiddenSize]` (GGUF `token_embd`).
    case embedding = "embed"
    /// `lm_head` `[vocabSize, hiddenSize]` (GGUF `output`).
    case head

    /// The class of a checkpoint tensor from its transformers or GGUF name, or `nil` for tensors that are
    /// never quantized (RMSNorm weights and anything unrecognised).
    ///
    /// Examples: `model.layers.3.self_attn.q_proj.weight` → `.attention`,
    /// `model.layers.0.block_sparse_moe.experts.7.w2.weight` → `.experts`,
    /// `blk.0.ffn_gate_inp.weight` → `.router`, `lm_head.weight` → `.head`.
    public init?(tensorName name: String) {
        if name.contains("block_sparse_moe.experts.") || name.contains("_exps.")
            || name.contains(".ffn_gate.") || name.contains(".ffn_up.") || name.contains(".ffn_down.") {
            self = .experts
        } else if name.contains("block_sparse_moe.gate.") || name.contains("ffn_gate_inp.") {
            self = .router
        } else if name.contains("self_attn.") && name.contains("_proj") || name.contains(".attn_q.")
            || name.contains(".attn_k.") || name.contains(".attn_v.") || name.contains(".attn_output.") {
            self = .attention
        } else if name.contains("embed_tokens.") || name.hasPrefix("token_embd.") {
            self = .embedding
        } else if name.hasPrefix("lm_head.") || name.hasPrefix("output.") {
            self = .head
        } else {
            return nil
        }
    }
}

/// Which precision each tensor class is stored in.
///
/// Text form (the `--precision` flag), parsed by `init(parsing:)`:
/// - one precision, `"q4"`: every class in q4 except the router, which stays fp32;
/// - per class, `"attn=int8,experts=nf4,router=fp32,embed=fp32,head=int8"`: classes not named are fp32
///   (the router too, unless named);
/// - both, `"q4,router=int8"`: a bare precision sets every class not named except the router.
public struct PrecisionSpec: Sendable, Equatable, CustomStringConvertible {
    /// Precision per class; every `TensorClass` has an entry.
    public let precisions: [TensorClass: Precision]

    /// Every class at `precision`, except the router at fp32 (its `[numExperts, hiddenSize]` weight is
    /// tiny and top-k selection is sensitive to its error).
    public init(uniform precision: Precision) {
        var map: [TensorClass: Precision] = [:]
        for tensorClass in TensorClass.allCases { map[tensorClass] = tensorClass == .router ? .fp32 : precision }
        self.precisions = map
    }

    /// Explicit precisions; classes missing from `named` are fp32.
    public init(_ named: [TensorClass: Precision]) {
        var map: [TensorClass: Precision] = [:]
        for tensorClass in TensorClass.allCases { map[tensorClass] = named[tensorClass] ?? .fp32 }
        self.precisions = map
    }

    /// Parses the `--precision` text form (see the type's documentation).
    /// - Throws: `PrecisionSpecError` naming the offending item and the valid values.
    public init(parsing text: String) throws {
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard !(items.count == 1 && items[0].isEmpty) else { throw PrecisionSpecError.empty }
        var named: [TensorClass: Precision] = [:]
        var defaultPrecision: Precision?
        for item in items {
            let parts = item.split(separator: "=", omittingEmptySubsequences: false).map(String.init)
            switch parts.count {
            case 1:
                let precision = try Self.precision(parts[0], in: text)
                if defaultPrecision != nil { throw PrecisionSpecError.twoDefaults(spec: text) }
                defaultPrecision = precision
            case 2:
                guard let tensorClass = TensorClass(rawValue: parts[0]) else {
                    throw PrecisionSpecError.unknownTensorClass(parts[0], spec: text)
                }
                guard named[tensorClass] == nil else { throw PrecisionSpecError.duplicateClass(parts[0], spec: text) }
                named[tensorClass] = try Self.precision(parts[1], in: text)
            default:
                throw PrecisionSpecError.malformedItem(item, spec: text)
            }
        }
        var map = PrecisionSpec(uniform: defaultPrecision ?? .fp32).precisions
        for (tensorClass, precision) in named { map[tensorClass] = precision }
        // gptq4 and awq4 are calibrated on the experts' recorded inputs: the experts' precisions only.
        if let calibrated = map.first(where: { $0.key != .experts && $0.value.needsCalibration })?.value {
            throw PrecisionSpecError.calibratedOutsideExperts(calibrated.rawValue, spec: text)
        }
        self.precisions = map
    }

    private static func precision(_ name: String, in spec: String) throws -> Precision {
        guard let precision = Precision(rawValue: name) else {
            throw PrecisionSpecError.unknownPrecision(name, spec: spec)
        }
        return precision
    }

    /// The precision of tensors of class `tensorClass`.
    public func precision(for tensorClass: TensorClass) -> Precision {
        precisions[tensorClass] ?? .fp32
    }

    /// `"q4"` when the spec is `init(uniform: .q4)`, otherwise every class spelled out in
    /// `TensorClass.allCases` order; parsing the description gives the same spec back.
    public var description: String {
        let attention = precision(for: .attention)
        if self == PrecisionSpec(uniform: attention) { return attention.rawValue }
        return TensorClass.allCases.map { "\($0.rawValue)=\(precision(for: $0).rawValue)" }.joined(separator: ",")
    }
}

/// A `--precision` value that cannot be parsed.
public enum PrecisionSpecError: UserInputError, Equatable {
    case empty
    case unknownPrecision(String, spec: String)
    case unknownTensorClass(String, spec: String)
    case duplicateClass(String, spec: String)
    case twoDefaults(spec: String)
    case malformedItem(String, spec: String)
    case calibratedOutsideExperts(String, spec: String)

    public var description: String {
        // gptq4 and awq4 are calibrated on the experts' recorded inputs, so they are offered for that class only.
        let precisions = Precision.allCases.filter { !$0.needsCalibration }.map(\.rawValue).joined(separator: "|")
            + "; for the experts also " + Precision.allCases.filter(\.needsCalibration).map { "experts=\($0.rawValue)" }.joined(separator: "|")
        let classes = TensorClass.allCases.map(\.rawValue).joined(separator: "|")
        switch self {
        case .empty:
            return "the precision spec is empty; give one of \(precisions), or CLASS=PRECISION pairs such as attn=int8,experts=nf4"
        case .unknownPrecision(let name, _):
            return "unknown precision '\(name)'; valid: \(precisions)"
        case .unknownTensorClass(let name, _):
            return "unknown tensor class '\(name)'; valid: \(classes)"
        case .duplicateClass(let name, _):
            return "tensor class '\(name)' is given twice"
        case .twoDefaults:
            return "more than one bare precision; give one, plus CLASS=PRECISION pairs"
        case .malformedItem(let item, _):
            return "'\(item)' is neither a precision nor CLASS=PRECISION"
        case .calibratedOutsideExperts(let name, _):
            return "\(name) is calibrated on the experts' recorded inputs, so it is for the experts only: write experts=\(name) (with other classes' precisions beside it, e.g. attn=int8,experts=\(name))"
        }
    }
}
