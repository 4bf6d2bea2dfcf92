import Foundation
import Tensors
import Checkpoints
import Quantization

/// Writes a quantized copy of a checkpoint (`mixtral-lab quantize`): a folder with `config.json` and
/// `tokenizer.json` copied and one `model.safetensors` holding every weight matrix at the precision the
/// spec gives its class (layout: `QuantizedTensorLayout`). Tensors of no class (RMSNorm weights) and
/// classes at fp32 are stored F32. Loading the folder gives the same model as loading the original at
/// that spec: each weight is the `LinearOperator` `quantize(_:to:tensorName:)` builds, stored byte for byte.
public enum QuantizedCheckpointWriter {
    /// Files copied unchanged from the source checkpoint when present.
    public static let copiedFiles = ["config.json", "tokenizer.json"]
    /// The weights file written.
    public static let weightsFile = "model.safetensors"

    /// Refuses a source whose quantized copy would not load as `--model DIR`: a GGUF file (it has no
    /// config.json or tokenizer.json to copy; it runs as it is, its Q8_0/Q4_0 tensors as stored).
    /// - Throws: `CheckpointWriteError.unusableSource`.
    public static func checkSource(_ checkpoint: Checkpoint) throws {
        if checkpoint.gguf != nil {
            throw CheckpointWriteError.unusableSource(path: checkpoint.directory.path,
                reason: "is a GGUF file, which has no config.json and tokenizer.json for a safetensors folder; run it as it is (--model \(checkpoint.directory.path) --precision …: F32 tensors take --precision, Q8_0/Q4_0/F16/BF16 run as stored)")
        }
    }

    /// Bytes and weights stored for one tensor class (or the norms, `tensorClass == nil`).
    public struct ClassTotal: Sendable {
        public let tensorClass: TensorClass?
        public let precision: Precision
        public var tensors = 0
        /// Weights (elements of the original tensors).
        public var weights = 0
        /// Bytes in the safetensors data buffer, companion tensors (absmax, quant_map, …) included.
        public var bytes = 0
        public var bitsPerWeight: Double { weights == 0 ? 0 : Double(8 * bytes) / Double(weights) }
    }

    /// What was written.
    public struct Report: Sendable {
        /// Each file written, with its size in bytes.
        public let files: [(url: URL, bytes: Int)]
        /// Per tensor class in `TensorClass.allCases` order, then the norms; classes with no tensors left out.
        public let classes: [ClassTotal]
        /// Weights over all tensors and the bits per weight of the whole weights file (header included).
        public let weights: Int
        public var bitsPerWeight: Double {
            let weightsBytes = files.first { $0.url.lastPathComponent == QuantizedCheckpointWriter.weightsFile }?.bytes ?? 0
            return Double(8 * weightsBytes) / Double(max(weights, 1))
        }
    }

    /// Quantizes `checkpoint` at `precision` into the folder `output` (created if needed). The output paths
    /// are checked before quantizing; `model.safetensors` is written first and `tokenizer.json`, then
    /// `config.json` after it, each through a `.partial` file, so an interrupted or failed run leaves no
    /// file that blocks a retry or passes for a checkpoint.
    ///
    /// With tied embeddings and different embed and head precisions, an explicit `lm_head.weight` at the
    /// head's precision is added (the loader then uses it instead of the embedding).
    ///
    /// Experts at `gptq4` or `awq4` are the ones `MixtralModel(checkpoint:precision:calibration:)` makes in
    /// memory (the whole model is loaded, its experts at fp32, and calibrated on `calibration`), stored as Q4_0
    /// blocks (awq4 with its input scales), with a `CalibrationRecord` of `calibration` in `__metadata__`.
    /// - Parameters:
    ///   - overwrite: replace files of the same names in `output`; otherwise refuse.
    ///   - calibration: the text gptq4/awq4 experts are calibrated on (nil: `CalibrationText.heldout`); unused
    ///     at other precisions.
    /// - Throws: `CheckpointWriteError.unusableSource` (`checkSource`), `.wouldOverwrite` naming the first existing file, `.outputIsInput`,
    ///   `.notAFolder` (`output` is a file), `.isAFolder` (a folder where a file goes), `.shadowingIndex` (a
    ///   `model.safetensors.index.json` in `output`, which loading would read instead), `.cannotWrite`;
    ///   `CheckpointError.badTensor` for an input tensor that is already U8 (quantized);
    ///   `QuantizeError` for a weight the precision cannot store (NaN, row length not a multiple of 32);
    ///   `CalibrationTextError` and the loading errors of `MixtralModel(checkpoint:…)` (gptq4/awq4).
    public static func write(_ checkpoint: Checkpoint, precision: PrecisionSpec, to output: URL, overwrite: Bool,
                             calibration: CalibrationText? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> Report {
        try checkSource(checkpoint)
        let source = checkpoint.directory.standardizedFileURL.resolvingSymlinksInPath()
        if output.standardizedFileURL.resolvingSymlinksInPath().path == source.path {
            throw CheckpointWriteError.outputIsInput(path: output.path)
        }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: output.path, isDirectory: &isFolder) && !isFolder.boolValue {
            throw CheckpointWriteError.notAFolder(path: output.path)
        }
        // a shard index beside the output would be loaded instead of it (`Checkpoint(directory:)`)
        let index = output.appendingPathComponent(Checkpoint.shardIndexFile)
        if FileManager.default.fileExists(atPath: index.path) { throw CheckpointWriteError.shadowingIndex(path: index.path) }
        let copies = copiedFiles.filter { FileManager.default.fileExists(atPath: checkpoint.directory.appendingPathComponent($0).path) }
        for name in copies + [weightsFile] {
            try checkOutputFile(output.appendingPathComponent(name), overwrite: overwrite)
        }

        let names = checkpoint.tensorNames
        for name in names where checkpoint.info(name)!.dtype == .u8 {
            let file = checkpoint.files.first { $0.tensors[name] != nil }!
            throw CheckpointError.badTensor(path: file.path, tensor: name, reason: "is already quantized (U8); quantize a float checkpoint")
        }

        // {"format": "pt"} as transformers' save_pretrained writes it (4.x loaders refuse files without it).
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        var totals: [String: ClassTotal] = [:]
        var weights = 0
        // gptq4 / awq4 experts: calibrated as loading does, then stored as they are in memory.
        var calibrated: [String: any LinearOperator] = [:]
        var calibrationSteps = 0
        let expertPrecision = precision.precision(for: .experts)
        if expertPrecision.needsCalibration {
            let text = try calibration ?? CalibrationText.heldout(beside: checkpoint, for: expertPrecision)
            let model = try MixtralModel(checkpoint: checkpoint, precision: precision, calibration: text) { done, total in
                calibrationSteps = total
                progress?(done, total + names.count)
            }
            for (l, layer) in model.layers.enumerated() {
                for (e, expert) in layer.experts.enumerated() {
                    calibrated[WeightNames.expert(l, e, "w1")] = expert.w1
                    calibrated[WeightNames.expert(l, e, "w2")] = expert.w2
                    calibrated[WeightNames.expert(l, e, "w3")] = expert.w3
                }
            }
            writer.metadata[CalibrationRecord.metadataKey] = text.record(method: expertPrecision, config: checkpoint.config).json
        }
        func account(_ tensorClass: TensorClass?, weights count: Int, since before: Int) {
            let key = tensorClass?.rawValue ?? "norm"
            var total = totals[key] ?? ClassTotal(tensorClass: tensorClass, precision: tensorClass.map { precision.precision(for: $0) } ?? .fp32)
            total.tensors += 1
            total.weights += count
            total.bytes += writer.dataByteCount - before
            totals[key] = total
        }
        func addQuantized(_ name: String, from source: String, rows: Int, cols: Int, _ tensorClass: TensorClass) throws {
            let weight = try calibrated[name] ?? quantize(checkpoint.matrix(source, rows: rows, cols: cols),
                                      to: precision.precision(for: tensorClass), tensorName: name)
            QuantizedWeights.add(weight, as: name, to: &writer)
        }
        for (i, name) in names.enumerated() {
            let info = checkpoint.info(name)!
            let before = writer.dataByteCount
            let tensorClass = info.shape.count == 2 ? TensorClass(tensorName: name) : nil
            if let tensorClass {
                try addQuantized(name, from: name, rows: info.shape[0], cols: info.shape[1], tensorClass)
            } else {
                writer.add(name, shape: info.shape, floats: try checkpoint.floats(name))
            }
            account(tensorClass, weights: info.elementCount, since: before)
            weights += info.elementCount
            progress?(calibrationSteps + i + 1, calibrationSteps + names.count)
        }
        let c = checkpoint.config
        if c.tieWordEmbeddings && checkpoint.info(WeightNames.lmHead) == nil
            && precision.precision(for: .head) != precision.precision(for: .embedding) {
            let before = writer.dataByteCount
            try addQuantized(WeightNames.lmHead, from: WeightNames.embedding, rows: c.vocabSize, cols: c.hiddenSize, .head)
            account(.head, weights: c.vocabSize * c.hiddenSize, since: before)
        }

        do {
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        } catch {
            throw CheckpointWriteError.cannotWrite(path: output.path, reason: error.localizedDescription)
        }
        // The weights first, the small files after them (config.json last): an interrupted or failed run
        // leaves at most the weights' partial file, never a folder that looks like a checkpoint.
        let weightsURL = output.appendingPathComponent(weightsFile)
        var files = [(url: weightsURL, bytes: try writer.write(to: weightsURL, overwrite: overwrite))]
        for name in copies.reversed() {
            let from = checkpoint.directory.appendingPathComponent(name), to = output.appendingPathComponent(name)
            guard let bytes = FileManager.default.contents(atPath: from.path) else {
                throw CheckpointError.fileNotFound(path: from.path)
            }
            try writeThroughPartialFile(to, overwrite: overwrite) { try $0.write(contentsOf: bytes) }
            files.append((to, bytes.count))
        }
        let order = TensorClass.allCases.map(\.rawValue) + ["norm"]
        return Report(files: files, classes: order.compactMap { totals[$0] }, weights: weights)
    }
}
