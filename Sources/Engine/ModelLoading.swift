import Foundation
import Tensors
import Checkpoints
import Quantization

/// Where a loaded model keeps its experts.
public enum ExpertResidency {
    /// Read into memory with the other weights.
    case resident
    /// Never read at load time: the provider streams them during forward passes (real offloading).
    case streamed(ExpertProvider)
}

extension MixtralModel {
    /// Loads a checkpoint and stores every projection at the precision the spec gives its tensor class.
    /// A weight the checkpoint stores quantized (written by `mixtral-lab quantize`, or bitsandbytes NF4)
    /// is used as stored, whatever the spec says for its class. Experts at `gptq4` or `awq4` are loaded at fp32
    /// and then calibrated and quantized (`calibratingExperts`) on `calibration`, by default the last 4,096
    /// tokens of the checkpoint's `heldout.txt` (`CalibrationText.heldout`); streamed experts at those precisions fail
    /// with `QuantizeError.needsCalibration` when their store is built. Norm weights always stay fp32. Embeddings
    /// and head are looked up / applied through the same `LinearOperator` as every other weight.
    ///
    /// Memory: a weight quantized at load time is converted from the checkpoint a few million weights at a
    /// time (`loadWeight`), and the mapped pages of each tensor are released once it is copied, so loading
    /// holds little more than the loaded weights. With `.streamed` experts, no expert tensor is touched.
    ///
    /// - Parameters:
    ///   - checkpoint: an opened checkpoint directory.
    ///   - precision: per-class precision (`PrecisionSpec(parsing: "fp32")` for the exact model).
    ///   - experts: `.resident` (default) or `.streamed(provider)`.
    ///   - calibration: the text `gptq4`/`awq4` experts are calibrated on (nil: `CalibrationText.heldout`).
    ///   - progress: called with (tensors done, tensors in all) while loading.
    /// - Throws: `CheckpointError` for missing tensors, shape mismatches, NaN/Inf weights or malformed
    ///   quantized tensors; quantization errors (scale overflow) naming the tensor; `CalibrationTextError` and
    ///   `CheckpointError.unreadable` for a calibration text that cannot be used (gptq4/awq4 only).
    public convenience init(checkpoint: Checkpoint, precision: PrecisionSpec, experts residency: ExpertResidency = .resident,
                            calibration: CalibrationText? = nil, progress: ((Int, Int) -> Void)? = nil) throws {
        // gptq4 / awq4 (experts only): load the experts at fp32, then calibrate and quantize them.
        if let other = TensorClass.allCases.first(where: { $0 != .experts && precision.precision(for: $0).needsCalibration }) {
            throw QuantizeError.needsCalibration(tensor: "the \(other.rawValue) class", precision: precision.precision(for: other).rawValue)
        }
        let expertPrecision = precision.precision(for: .experts)
        // Experts the checkpoint stores quantized run as stored: nothing to calibrate.
        let expertsStored = checkpoint.storedPrecision(WeightNames.expert(0, 0, "w1")) != nil
        if expertPrecision.needsCalibration, !expertsStored, case .resident = residency {
            let calibration = try calibration ?? CalibrationText.heldout(beside: checkpoint, for: expertPrecision)
            var precisions = precision.precisions
            precisions[.experts] = .fp32
            // One progress count runs on through the calibration: a step for recording the calibration inputs
            // and one per expert quantized, after the tensors loaded.
            let calibrationSteps = 1 + checkpoint.config.numHiddenLayers * checkpoint.config.numExperts
            var loaded = 0
            let model = try MixtralModel(checkpoint: checkpoint, precision: PrecisionSpec(precisions)) { done, total in
                loaded = total
                progress?(done, total + calibrationSteps)
            }.calibratingExperts(expertPrecision, calibration: calibration) { done in progress?(loaded + done, loaded + calibrationSteps) }
            self.init(config: model.config, embedding: model.embedding, layers: model.layers, finalNorm: model.finalNorm, lmHead: model.lmHead)
            return
        }
        let c = checkpoint.config
        var provider: ExpertProvider?
        if case .streamed(let streaming) = residency { provider = streaming }
        let total = 2 + c.numHiddenLayers * (5 + (provider == nil ? 3 * c.numExperts : 0))
        // Only the tensors other than experts are loaded: request them all from the disk at once, so the
        // copies below overlap the reads (with resident experts the model may exceed RAM: tensor by tensor).
        if provider != nil { checkpoint.adviseWillNeedAllButExperts() }
        var done = 0
        func load(_ name: String, rows: Int, cols: Int, _ tensorClass: TensorClass) throws -> any LinearOperator {
            done += 1
            progress?(done, total)
            return try checkpoint.loadWeight(name, rows: rows, cols: cols, precision: precision.precision(for: tensorClass))
        }
        let q = c.numAttentionHeads * c.headDim, kv = c.numKeyValueHeads * c.headDim
        let embedding = try load(WeightNames.embedding, rows: c.vocabSize, cols: c.hiddenSize, .embedding)
        var layers: [DecoderLayer] = []
        for l in 0..<c.numHiddenLayers {
            let attention = AttentionWeights(
                q: try load(WeightNames.qProj(l), rows: q, cols: c.hiddenSize, .attention),
                k: try load(WeightNames.kProj(l), rows: kv, cols: c.hiddenSize, .attention),
                v: try load(WeightNames.vProj(l), rows: kv, cols: c.hiddenSize, .attention),
                o: try load(WeightNames.oProj(l), rows: c.hiddenSize, cols: q, .attention))
            let experts = provider != nil ? [] : try (0..<c.numExperts).map { e in
                ExpertWeights(
                    w1: try load(WeightNames.expert(l, e, "w1"), rows: c.intermediateSize, cols: c.hiddenSize, .experts),
                    w2: try load(WeightNames.expert(l, e, "w2"), rows: c.hiddenSize, cols: c.intermediateSize, .experts),
                    w3: try load(WeightNames.expert(l, e, "w3"), rows: c.intermediateSize, cols: c.hiddenSize, .experts))
            }
            layers.append(DecoderLayer(
                inputNorm: try checkpoint.vector(WeightNames.inputNorm(l), count: c.hiddenSize),
                attention: attention,
                postAttentionNorm: try checkpoint.vector(WeightNames.postAttentionNorm(l), count: c.hiddenSize),
                router: try load(WeightNames.router(l), rows: c.numExperts, cols: c.hiddenSize, .router),
                experts: experts, streamedBy: provider, layer: l))
        }
        let head: any LinearOperator
        if c.tieWordEmbeddings && checkpoint.info(WeightNames.lmHead) == nil {
            head = try load(WeightNames.embedding, rows: c.vocabSize, cols: c.hiddenSize, .head)
        } else {
            head = try load(WeightNames.lmHead, rows: c.vocabSize, cols: c.hiddenSize, .head)
        }
        self.init(config: c, embedding: embedding, layers: layers,
                  finalNorm: try checkpoint.vector(WeightNames.finalNorm, count: c.hiddenSize), lmHead: head)
    }
}
