import Foundation
import Tensors
import Checkpoints
import Quantization

/// Stores quantized weights in safetensors and reads them back, in the layout `QuantizedTensorLayout`
/// describes (bitsandbytes' serialization for NF4, GGML blocks for Q8_0/Q4_0, BF16/F16 for the 16-bit
/// precisions). A weight read back is the same `LinearOperator`, byte for byte, as the one written.
public enum QuantizedWeights {
    /// The torch dtype recorded in an NF4 quant_state: the weights are quantized from fp32.
    static let sourceDType = "float32"

    /// Adds `weight` (a `Matrix`, `NF4Matrix`, `Q8_0Matrix`, `Q4_0Matrix`, `BF16Matrix`, `F16Matrix`,
    /// `HQQMatrix`, `GPTQMatrix` or an `InputScaledMatrix` over a `Q4_0Matrix` (awq4); the calibrated ones
    /// need the file's `CalibrationRecord`, which the caller adds)
    /// under the tensor name `name` (e.g. `model.layers.0.self_attn.q_proj.weight`), with its
    /// bitsandbytes companion tensors or its `__metadata__` type entry.
    /// Precondition: `weight` is one of those types.
    public static func add(_ weight: any LinearOperator, as name: String, to writer: inout SafeTensorsWriter) {
        let shape = [weight.outFeatures, weight.inFeatures]
        switch weight {
        case let dense as Matrix:
            writer.add(name, shape: shape, floats: dense.values)
        case let nf4 as NF4Matrix:
            addNF4(nf4, as: name, to: &writer)
        case let q8 as Q8_0Matrix:
            addGGML(q8.blocks, type: Q8_0.ggmlName, typeSize: Q8_0.typeSize, shape: shape, as: name, to: &writer)
        case let q4 as Q4_0Matrix:
            addGGML(q4.blocks, type: Q4_0.ggmlName, typeSize: Q4_0.typeSize, shape: shape, as: name, to: &writer)
        case let bf16 as BF16Matrix:
            writer.add(name, dtype: .bf16, shape: shape, halves: bf16.storage)
            tag(name, GGMLTypeName.bf16, in: &writer)
        case let f16 as F16Matrix:
            writer.add(name, dtype: .f16, shape: shape, halves: f16.storage)
            tag(name, GGMLTypeName.f16, in: &writer)
        case let hqq as HQQMatrix:
            addHQQ(hqq, as: name, to: &writer)
        case let gptq as GPTQMatrix:
            addGGML(gptq.blocks.blocks, type: Q4_0.ggmlName, typeSize: Q4_0.typeSize, shape: shape, as: name, to: &writer)
        case let awq as InputScaledMatrix where awq.inner is Q4_0Matrix:
            addGGML((awq.inner as! Q4_0Matrix).blocks, type: Q4_0.ggmlName, typeSize: Q4_0.typeSize, shape: shape, as: name, to: &writer)
            writer.add(QuantizedTensorLayout.awqInputScale(name), shape: [awq.inFeatures], floats: awq.inputScale)
        default:
            preconditionFailure("QuantizedWeights: no stored form for \(type(of: weight)) (\(name))")
        }
    }

    /// The bytes `add` stores for a `[rows, cols]` weight quantized at `precision` (by `quantize(_:to:tensorName:)`,
    /// or calibrated for gptq4/awq4): the tensor and its companions — NF4's absmax, quant_map and
    /// quant_state, HQQ's scales and zero-points with their fp32 ranges, awq4's input scales — without the
    /// file's header. Computed from the shape alone, so `info` can say what `quantize` will write without
    /// quantizing. Exact for every precision but nf4-dq, whose quant_state holds the data's mean absmax as a
    /// shortest decimal: it is counted at the 20 characters of a typical one (`0.012299999594688416`, an
    /// fp32 value widened to a double), so nf4-dq may be a few bytes per tensor off.
    /// A shape `quantize` refuses (`cols` not a multiple of the block or group size) gets an approximate count.
    public static func storedByteCount(rows: Int, cols: Int, precision: Precision) -> Int {
        let weights = rows * cols
        if let settings = precision.hqqSettings {
            let groups = weights / settings.groupSize
            let codes = weights * settings.bits / 8
            guard let scaleGroupSize = settings.scaleGroupSize else { return codes + 2 * groups * 2 }   // fp16 scale and zero
            // 8-bit scale and zero codes; the scales' fp32 range per group of scales, the zeros' one range
            let scaleGroups = HQQByteQuantized.groupCount(values: groups, groupSize: scaleGroupSize)
            return codes + 2 * groups + 2 * 4 * scaleGroups + 2 * 4
        }
        switch precision {
        case .fp32: return 4 * weights
        case .bf16, .f16: return 2 * weights
        case .int8: return weights / ggmlBlockSize * Q8_0.typeSize
        case .q4, .gptq4: return weights / ggmlBlockSize * Q4_0.typeSize
        case .awq4: return weights / ggmlBlockSize * Q4_0.typeSize + 4 * cols
        case .nf4, .nf4dq:
            let blocks = (weights + NF4.defaultBlocksize - 1) / NF4.defaultBlocksize
            let nested = precision == .nf4dq
                ? BitsAndBytesQuantState.Nested(blocksize: DoubleQuantizedAbsmax.blocksize, dtype: sourceDType, offset: 0) : nil
            let state = BitsAndBytesQuantState(quantType: "nf4", blocksize: NF4.defaultBlocksize, dtype: sourceDType,
                                               shape: [rows, cols], nested: nested).jsonBytes.count
            let absmax = nested == nil ? 4 * blocks
                : blocks + 4 * ((blocks + DoubleQuantizedAbsmax.blocksize - 1) / DoubleQuantizedAbsmax.blocksize)
                    + 4 * DynamicMap.signed.count + ("0.012299999594688416".count - "0.0".count)   // the offset 0 prints as 0.0
            return (weights + 1) / 2 + absmax + 4 * NF4.codebook.count + state
        case .hqq4, .hqq3, .hqq2, .hqq4HalfMetadata, .hqq3HalfMetadata, .hqq2HalfMetadata:
            preconditionFailure("HQQ precisions are handled above")
        }
    }

    /// GGUF types that load as stored (`stored(_:rows:cols:)`), and the precision each runs at; F32 and the
    /// other decodable types become fp32 and take the class's --precision.
    public static let ggufRunAsStored: [GGMLType: Precision] = [.q8_0: .int8, .q4_0: .q4, .f16: .f16, .bf16: .bf16]

    /// `__metadata__` GGML type names that load as stored (`StoredTensorReader.ggml`) and their precision.
    static let taggedRunAsStored: [String: Precision] = [Q8_0.ggmlName: .int8, Q4_0.ggmlName: .q4,
                                                         GGMLTypeName.bf16: .bf16, GGMLTypeName.f16: .f16]

    /// GGML type names used in `__metadata__` (gguf-py `GGMLQuantizationType` member names).
    enum GGMLTypeName {
        static let bf16 = "BF16", f16 = "F16"
    }

    private static func tag(_ name: String, _ type: String, in writer: inout SafeTensorsWriter) {
        writer.metadata[QuantizedTensorLayout.formatKey] = QuantizedTensorLayout.ggmlFormat
        writer.metadata[name] = type
    }

    private static func addGGML(_ blocks: [UInt8], type: String, typeSize: Int, shape: [Int], as name: String,
                                to writer: inout SafeTensorsWriter) {
        writer.add(name, dtype: .u8, shape: [shape[0], shape[1] / ggmlBlockSize * typeSize], bytes: blocks)
        tag(name, type, in: &writer)
    }

    private static func addHQQ(_ weight: HQQMatrix, as name: String, to writer: inout SafeTensorsWriter) {
        typealias Layout = QuantizedTensorLayout
        let settings = weight.settings
        writer.add(name, dtype: .u8, shape: [weight.rows, weight.cols * settings.bits / 8], bytes: weight.packed)
        tag(name, Layout.hqqTypeName(bits: settings.bits, groupSize: settings.groupSize, scaleGroupSize: settings.scaleGroupSize),
            in: &writer)
        switch weight.parameters {
        case .half(let scales, let zeros):
            writer.add(Layout.hqqScale(name), dtype: .f16, shape: [scales.count], halves: scales)
            writer.add(Layout.hqqZero(name), dtype: .f16, shape: [zeros.count], halves: zeros)
        case .quantized(let scales, let zeros):
            writer.add(Layout.hqqScale(name), dtype: .u8, shape: [scales.codes.count], bytes: scales.codes)
            writer.add(Layout.hqqScaleMeta(name), shape: [2 * scales.groupCount], floats: scales.scales + scales.zeros)
            writer.add(Layout.hqqZero(name), dtype: .u8, shape: [zeros.codes.count], bytes: zeros.codes)
            writer.add(Layout.hqqZeroMeta(name), shape: [2 * zeros.groupCount], floats: zeros.scales + zeros.zeros)
        }
    }

    private static func addNF4(_ weight: NF4Matrix, as name: String, to writer: inout SafeTensorsWriter) {
        typealias Layout = QuantizedTensorLayout
        writer.add(name, dtype: .u8, shape: [weight.packed.count, 1], bytes: weight.packed)
        var nested: BitsAndBytesQuantState.Nested?
        switch weight.absmax {
        case .plain(let absmax):
            writer.add(Layout.absmax(name), shape: [absmax.count], floats: absmax)
        case .doubleQuantized(let dq):
            writer.add(Layout.absmax(name), dtype: .u8, shape: [dq.codes.count], bytes: dq.codes)
            writer.add(Layout.nestedAbsmax(name), shape: [dq.absmax2.count], floats: dq.absmax2)
            writer.add(Layout.nestedQuantMap(name), shape: [DynamicMap.signed.count], floats: DynamicMap.signed)
            nested = .init(blocksize: DoubleQuantizedAbsmax.blocksize, dtype: sourceDType, offset: dq.offset)
        }
        writer.add(Layout.quantMap(name), shape: [NF4.codebook.count], floats: NF4.codebook)
        let state = BitsAndBytesQuantState(quantType: "nf4", blocksize: weight.blocksize, dtype: sourceDType,
                                           shape: [weight.rows, weight.cols], nested: nested)
        let bytes = state.jsonBytes
        writer.add(Layout.quantState(name, quantType: "nf4"), dtype: .u8, shape: [bytes.count], bytes: bytes)
    }
}

extension Checkpoint {
    /// The weight `name` `[rows, cols]` as it is stored, when it is stored quantized or at a 16-bit
    /// storage precision (see `QuantizedTensorLayout`); `nil` for an ordinary float tensor, which the
    /// caller converts and quantizes itself. An NF4 quant_state's `dtype` (the torch dtype bitsandbytes
    /// would dequantize to, e.g. `bfloat16`) is not applied: products are computed in fp32.
    ///
    /// - Throws: `CheckpointError.badTensor` naming the tensor and the problem: a U8 tensor with neither
    ///   a bitsandbytes quant_state nor a GGML type entry, an unknown GGML type name, a quant_type other
    ///   than nf4, a companion tensor missing or of the wrong dtype or size, a quant_map that is not the
    ///   NF4 codebook (or the signed dynamic map), a shape that disagrees with the config.
    public func storedWeight(_ name: String, rows: Int, cols: Int) throws -> (any LinearOperator)? {
        if let weight = ggufWeight(name) { return try QuantizedWeights.stored(weight, rows: rows, cols: cols) }
        guard let file = files.first(where: { $0.tensors[name] != nil }), let info = file.tensors[name] else {
            throw CheckpointError.missingTensor(path: directory.path, tensor: name)
        }
        let reader = StoredTensorReader(checkpoint: self, file: file, weight: name)
        if let type = file.metadata[name] {
            let format = file.metadata[QuantizedTensorLayout.formatKey]
            guard format == QuantizedTensorLayout.ggmlFormat else {
                throw reader.bad("__metadata__ gives it type \"\(type)\" but \(QuantizedTensorLayout.formatKey) is \(format.map { "\"\($0)\"" } ?? "missing"), expected \"\(QuantizedTensorLayout.ggmlFormat)\"")
            }
            return try reader.ggml(info, type: type, rows: rows, cols: cols)
        }
        let quantStates = ["nf4", "fp4"].map { QuantizedTensorLayout.quantState(name, quantType: $0) }.filter { self.info($0) != nil }
        if let stateName = quantStates.first {
            guard quantStates.count == 1 else {
                throw reader.bad("has two quant_state tensors (\(quantStates.joined(separator: ", "))); bitsandbytes writes one")
            }
            return try reader.nf4(info, quantState: stateName, rows: rows, cols: cols)
        }
        if info.dtype == .u8 {
            throw reader.bad("is U8 packed data but has neither a bitsandbytes \(name).quant_state.* tensor nor a GGML type in __metadata__")
        }
        return nil
    }
}

extension Checkpoint {
    /// The precision the weight `name` runs at when the checkpoint stores it quantized or at 16 bits
    /// (what `storedWeight` would load), read from the headers alone; nil for an ordinary float tensor,
    /// which runs at the class's --precision. The weights `quantize` writes, a GGUF file's Q8_0/Q4_0/
    /// F16/BF16 tensors, bitsandbytes NF4 (double-quantized when it has nested absmax).
    public func storedPrecision(_ name: String) -> Precision? {
        if let weight = ggufWeight(name) { return QuantizedWeights.ggufRunAsStored[weight.type] }
        guard let file = files.first(where: { $0.tensors[name] != nil }) else { return nil }
        if let type = file.metadata[name] {
            if type == Q4_0.ggmlName, let method = try? calibratedPrecision(name) { return method }
            if let hqq = QuantizedTensorLayout.hqqSettings(typeName: type) {
                // the precision with these settings (nil for settings no precision names)
                return Precision.allCases.first { precision in
                    precision.hqqSettings.map { $0.bits == hqq.bits && $0.groupSize == hqq.groupSize && $0.scaleGroupSize == hqq.scaleGroupSize } ?? false
                }
            }
            return QuantizedWeights.taggedRunAsStored[type]
        }
        guard info(QuantizedTensorLayout.quantState(name, quantType: "nf4")) != nil else { return nil }
        return info(QuantizedTensorLayout.nestedAbsmax(name)) != nil ? .nf4dq : .nf4
    }

    /// `gptq4` or `awq4` for an expert weight of a checkpoint with a `CalibrationRecord` (its Q4_0 blocks
    /// were chosen by that method), nil for any other weight.
    /// - Throws: `CheckpointError.malformedHeader` for a record that does not parse.
    func calibratedPrecision(_ name: String) throws -> Precision? {
        guard TensorClass(tensorName: name) == .experts else { return nil }
        return try calibrationRecord()?.method
    }

    /// The stored weight a companion tensor belongs to (`X.weight` for `X.weight.absmax`,
    /// `X.weight.quant_state.bitsandbytes__nf4`, …), or nil for a tensor that is no companion.
    public func storedWeightName(ofCompanion name: String) -> String? {
        guard let range = name.range(of: ".weight.", options: .backwards) else { return nil }
        let weight = String(name[..<range.lowerBound]) + ".weight"
        return storedPrecision(weight) != nil ? weight : nil
    }
}

extension QuantizedWeights {
    /// A GGUF weight `[rows, cols]` as stored: Q8_0 and Q4_0 as `GGMLMatrix` on the packed blocks (a GGUF
    /// row is the same run of blocks), F16 and BF16 as `HalfMatrix`; nil for F32 and for the types that
    /// are decoded to fp32 (`Checkpoint.matrix`), which the caller stores at the precision asked.
    /// q/k rows come back in Hugging Face order (`GGUFWeight.bytes()`).
    /// - Throws: `CheckpointError.badTensor` when the shape disagrees with the config.
    static func stored(_ weight: GGUFWeight, rows: Int, cols: Int) throws -> (any LinearOperator)? {
        guard weight.shape == [rows, cols] else {
            throw CheckpointError.badTensor(path: weight.path, tensor: weight.tensorName,
                                            reason: "\(weight.name) has shape \(weight.shape), expected [\(rows), \(cols)] from the config")
        }
        func halves() -> [UInt16] {
            weight.bytes().withUnsafeBytes { b in (0..<(rows * cols)).map { UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) } }
        }
        guard ggufRunAsStored[weight.type] != nil else { return nil }
        switch weight.type {
        case .q8_0: return Q8_0Matrix(rows: rows, cols: cols, blocks: weight.bytes())
        case .q4_0: return Q4_0Matrix(rows: rows, cols: cols, blocks: weight.bytes())
        case .f16: return F16Matrix(rows: rows, cols: cols, storage: halves())
        case .bf16: return BF16Matrix(rows: rows, cols: cols, storage: halves())
        default: return nil
        }
    }
}

/// Reads the tensors of one stored weight, turning every inconsistency into a `CheckpointError`.
private struct StoredTensorReader {
    let checkpoint: Checkpoint
    let file: SafeTensorsFile
    let weight: String

    func bad(_ reason: String, tensor: String? = nil) -> CheckpointError {
        .badTensor(path: file.path, tensor: tensor ?? weight, reason: reason)
    }

    /// A companion tensor of `dtype` with `count` elements.
    func companion(_ name: String, _ dtype: TensorDType, count: Int, role: String) throws -> TensorInfo {
        guard let info = checkpoint.info(name) else {
            throw bad("is stored as NF4 but its \(role) tensor \(name) is missing")
        }
        guard info.dtype == dtype else { throw bad("\(role) is \(info.dtype.rawValue), expected \(dtype.rawValue)", tensor: name) }
        guard info.elementCount == count else {
            throw bad("\(role) has \(info.elementCount) elements \(info.shape), expected \(count) for \(weight)", tensor: name)
        }
        return info
    }

    func bytes(_ info: TensorInfo) throws -> [UInt8] { Array(try checkpoint.rawBytes(info.name).1) }

    func checkShape(_ info: TensorInfo, _ expected: [Int], what: String) throws {
        guard info.shape == expected else {
            throw bad("\(what) shape is \(info.shape), expected \(expected) from the config")
        }
    }

    func ggml(_ info: TensorInfo, type: String, rows: Int, cols: Int) throws -> any LinearOperator {
        func blocks(_ typeSize: Int) throws -> [UInt8] {
            guard info.dtype == .u8 else { throw bad("is tagged \(type) in __metadata__ but stored as \(info.dtype.rawValue), expected U8") }
            guard cols % ggmlBlockSize == 0 else { throw bad("is tagged \(type) but its rows of \(cols) are not whole blocks of 32") }
            try checkShape(info, [rows, cols / ggmlBlockSize * typeSize], what: "\(type) block")
            return try bytes(info)
        }
        func halves(_ dtype: TensorDType) throws -> [UInt16] {
            guard info.dtype == dtype else { throw bad("is tagged \(type) in __metadata__ but stored as \(info.dtype.rawValue)") }
            try checkShape(info, [rows, cols], what: type)
            let raw = try checkpoint.rawBytes(info.name).1
            return (0..<info.elementCount).map { UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
        }
        switch type {
        case Q8_0.ggmlName: return Q8_0Matrix(rows: rows, cols: cols, blocks: try blocks(Q8_0.typeSize))
        case Q4_0.ggmlName: return try calibrated(Q4_0Matrix(rows: rows, cols: cols, blocks: try blocks(Q4_0.typeSize)))
        case QuantizedWeights.GGMLTypeName.bf16: return BF16Matrix(rows: rows, cols: cols, storage: try halves(.bf16))
        case QuantizedWeights.GGMLTypeName.f16: return F16Matrix(rows: rows, cols: cols, storage: try halves(.f16))
        default:
            if let hqq = QuantizedTensorLayout.hqqSettings(typeName: type) { return try self.hqq(info, type: type, hqq, rows: rows, cols: cols) }
            throw bad("__metadata__ names unknown format \"\(type)\" (known: Q8_0, Q4_0, BF16, F16, HQQ<bits>_G<group>_S<group>|F16)")
        }
    }

    /// A Q4_0 weight as its checkpoint's calibration record says it was made: `GPTQMatrix` (gptq4),
    /// `InputScaledMatrix` with the stored `awq_input_scale` (awq4), or as it is.
    func calibrated(_ q4: Q4_0Matrix) throws -> any LinearOperator {
        let scaleName = QuantizedTensorLayout.awqInputScale(weight)
        switch try checkpoint.calibratedPrecision(weight) {
        case .gptq4?:
            guard checkpoint.info(scaleName) == nil else { throw bad("has an AWQ input scale but the calibration record says gptq4", tensor: scaleName) }
            return GPTQMatrix(blocks: q4)
        case .awq4?:
            guard let scaleInfo = checkpoint.info(scaleName) else { throw bad("is awq4 (calibration record) but its input-scale tensor \(scaleName) is missing") }
            guard scaleInfo.dtype == .f32, scaleInfo.elementCount == q4.inFeatures else {
                throw bad("input scale is \(scaleInfo.dtype.rawValue) \(scaleInfo.shape), expected F32 [\(q4.inFeatures)]", tensor: scaleName)
            }
            let scales = try checkpoint.floats(scaleName)
            guard scales.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw bad("holds a scale that is not a positive finite number", tensor: scaleName) }
            return InputScaledMatrix(inner: q4, inputScale: scales)
        default:
            guard checkpoint.info(scaleName) == nil else {
                throw bad("has an AWQ input scale but the checkpoint has no awq4 calibration record (\(CalibrationRecord.metadataKey))", tensor: scaleName)
            }
            return q4
        }
    }

    func hqq(_ info: TensorInfo, type: String, _ stored: (bits: Int, groupSize: Int, scaleGroupSize: Int?),
             rows: Int, cols: Int) throws -> any LinearOperator {
        typealias Layout = QuantizedTensorLayout
        guard [2, 3, 4].contains(stored.bits), stored.groupSize > 0, stored.groupSize % 8 == 0,
              stored.scaleGroupSize.map({ $0 > 0 }) ?? true else {
            throw bad("\(type): HQQ takes 2, 3 or 4 bits and a group size that is a multiple of 8")
        }
        guard cols % stored.groupSize == 0 else { throw bad("is tagged \(type) but its rows of \(cols) are not whole groups of \(stored.groupSize)") }
        guard info.dtype == .u8 else { throw bad("is tagged \(type) in __metadata__ but stored as \(info.dtype.rawValue), expected U8") }
        try checkShape(info, [rows, cols * stored.bits / 8], what: "\(type) code")
        let settings = HQQ.Settings(bits: stored.bits, groupSize: stored.groupSize, scaleGroupSize: stored.scaleGroupSize)
        let groups = rows * cols / stored.groupSize
        func part(_ name: String, _ dtype: TensorDType, count: Int, role: String) throws -> TensorInfo {
            guard let part = checkpoint.info(name) else { throw bad("is stored as \(type) but its \(role) tensor \(name) is missing") }
            guard part.dtype == dtype else { throw bad("\(role) is \(part.dtype.rawValue), expected \(dtype.rawValue)", tensor: name) }
            guard part.elementCount == count else {
                throw bad("\(role) has \(part.elementCount) elements \(part.shape), expected \(count) for \(weight)", tensor: name)
            }
            return part
        }
        func finite(_ values: [Float], _ name: String) throws -> [Float] {
            guard values.allSatisfy(\.isFinite) else { throw bad("holds a NaN or Inf", tensor: name) }
            return values
        }
        let parameters: HQQGroupParameters
        if let m = stored.scaleGroupSize {
            let scaleGroups = max(1, (groups + m - 1) / m)
            let scaleCodes = try bytes(try part(Layout.hqqScale(weight), .u8, count: groups, role: "scale codes"))
            let zeroCodes = try bytes(try part(Layout.hqqZero(weight), .u8, count: groups, role: "zero-point codes"))
            let scaleMeta = try finite(try checkpoint.floats(try part(Layout.hqqScaleMeta(weight), .f32, count: 2 * scaleGroups, role: "scale_meta").name), Layout.hqqScaleMeta(weight))
            let zeroMeta = try finite(try checkpoint.floats(try part(Layout.hqqZeroMeta(weight), .f32, count: 2, role: "zero_meta").name), Layout.hqqZeroMeta(weight))
            parameters = .quantized(scales: HQQByteQuantized(codes: scaleCodes, scales: Array(scaleMeta[0..<scaleGroups]), zeros: Array(scaleMeta[scaleGroups...])),
                                    zeros: HQQByteQuantized(codes: zeroCodes, scales: [zeroMeta[0]], zeros: [zeroMeta[1]]))
        } else {
            func halves(_ name: String, role: String) throws -> [UInt16] {
                let raw = try checkpoint.rawBytes(try part(name, .f16, count: groups, role: role).name).1
                return (0..<groups).map { UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
            }
            parameters = .half(scales: try halves(Layout.hqqScale(weight), role: "scale"), zeros: try halves(Layout.hqqZero(weight), role: "zero-point"))
        }
        return HQQMatrix(rows: rows, cols: cols, settings: settings, packed: try bytes(info), parameters: parameters)
    }

    func nf4(_ info: TensorInfo, quantState stateName: String, rows: Int, cols: Int) throws -> any LinearOperator {
        typealias Layout = QuantizedTensorLayout
        let stateInfo = checkpoint.info(stateName)!
        guard stateInfo.dtype == .u8 else { throw bad("is \(stateInfo.dtype.rawValue), expected U8 (JSON bytes)", tensor: stateName) }
        let state = try BitsAndBytesQuantState(jsonBytes: try checkpoint.rawBytes(stateName).1, path: file.path, tensor: stateName)
        guard state.quantType == "nf4", stateName == Layout.quantState(weight, quantType: "nf4") else {
            throw bad("quant_type is \"\(state.quantType)\"; mixtral-lab reads only nf4", tensor: stateName)
        }
        guard NF4.validBlocksizes.contains(state.blocksize) else {
            throw bad("blocksize \(state.blocksize) is not one of \(NF4.validBlocksizes)", tensor: stateName)
        }
        guard state.shape == [rows, cols] else {
            throw bad("quant_state shape \(state.shape) does not match the config's [\(rows), \(cols)]", tensor: stateName)
        }
        let count = rows * cols, blocks = (count + state.blocksize - 1) / state.blocksize
        guard info.dtype == .u8, info.elementCount == (count + 1) / 2 else {
            throw bad("packed NF4 codes are \(info.dtype.rawValue) \(info.shape), expected U8 with \((count + 1) / 2) elements")
        }
        let quantMap = try companion(Layout.quantMap(weight), .f32, count: NF4.codebook.count, role: "quant_map")
        guard try checkpoint.floats(quantMap.name) == NF4.codebook else {
            throw bad("quant_map is not bitsandbytes' NF4 codebook", tensor: quantMap.name)
        }
        let absmax: NF4Absmax
        if let nested = state.nested {
            guard nested.blocksize == DoubleQuantizedAbsmax.blocksize else {
                throw bad("nested_blocksize \(nested.blocksize) is not \(DoubleQuantizedAbsmax.blocksize)", tensor: stateName)
            }
            let codes = try companion(Layout.absmax(weight), .u8, count: blocks, role: "absmax (8-bit codes)")
            let nestedBlocks = (blocks + nested.blocksize - 1) / nested.blocksize
            let absmax2 = try companion(Layout.nestedAbsmax(weight), .f32, count: nestedBlocks, role: "nested_absmax")
            let nestedMap = try companion(Layout.nestedQuantMap(weight), .f32, count: DynamicMap.signed.count, role: "nested_quant_map")
            guard try checkpoint.floats(nestedMap.name) == DynamicMap.signed else {
                throw bad("nested_quant_map is not bitsandbytes' signed dynamic map", tensor: nestedMap.name)
            }
            absmax = .doubleQuantized(DoubleQuantizedAbsmax(codes: try bytes(codes), absmax2: try checkpoint.floats(absmax2.name),
                                                            offset: nested.offset))
        } else {
            let plain = try companion(Layout.absmax(weight), .f32, count: blocks, role: "absmax")
            absmax = .plain(try checkpoint.floats(plain.name))
        }
        return NF4Matrix(rows: rows, cols: cols, blocksize: state.blocksize, packed: try bytes(info), absmax: absmax)
    }
}
