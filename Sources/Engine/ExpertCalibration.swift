import Foundation
import Tensors
import Checkpoints
import Quantization

/// The inputs every expert projection sees when the fp32 model runs some windows: per layer and expert, the
/// MoE block's input `x` of each token routed to it (the input of w1 and w3), `silu(w1·x) ⊙ (w3·x)` (the input
/// of w2), and the index of the token in the windows (for bootstrap chunks).
public struct ExpertCalibrationInputs {
    /// `[layer][expert]`: `[tokens routed, hidden]`, `[tokens routed, intermediate]`, token indices.
    public var x: [[Matrix]]
    public var hiddenActivations: [[Matrix]]
    public var tokenIndex: [[[Int]]]
    /// Tokens run, BOS included.
    public let tokens: Int

    /// Runs `model` (resident experts) over `windows`, each in a fresh session.
    /// - Throws: `EngineError` from the forward passes.
    public init(model: MixtralModel, windows: [[Int]]) throws {
        let c = model.config
        final class Recorder: ForwardObserver {
            var rows: [[[Float]]]
            var index: [[[Int]]]
            var offset = 0
            init(layers: Int, experts: Int) {
                rows = Array(repeating: Array(repeating: [], count: experts), count: layers)
                index = rows.map { $0.map { _ in [] } }
            }
            func routed(_ decision: RoutingDecision) {
                for e in decision.experts {
                    rows[decision.layer][e] += decision.routerInput
                    index[decision.layer][e].append(offset + decision.position)
                }
            }
        }
        let recorder = Recorder(layers: c.numHiddenLayers, experts: c.numExperts)
        let session = Session(model: model, capacity: windows.map(\.count).max() ?? 1, observer: recorder)
        for window in windows {
            session.cache.reset()
            _ = try model.forward(window, session: session)
            recorder.offset += window.count
        }
        tokens = recorder.offset
        tokenIndex = recorder.index
        x = recorder.rows.map { $0.map { Matrix(rows: $0.count / c.hiddenSize, cols: c.hiddenSize, values: $0) } }
        hiddenActivations = zip(model.layers, x).map { layer, inputs in
            zip(layer.experts, inputs).map { expert, input in
                var gate = [Float](repeating: 0, count: input.rows * c.intermediateSize)
                var up = gate
                if input.rows > 0 {
                    input.values.withUnsafeBufferPointer { xp in
                        gate.withUnsafeMutableBufferPointer { expert.w1.apply(batch: input.rows, xp.baseAddress!, into: $0.baseAddress!) }
                        up.withUnsafeMutableBufferPointer { expert.w3.apply(batch: input.rows, xp.baseAddress!, into: $0.baseAddress!) }
                    }
                    gate.withUnsafeMutableBufferPointer { g in up.withUnsafeBufferPointer { siluMultiply(g.baseAddress!, $0.baseAddress!, g.count) } }
                }
                return Matrix(rows: input.rows, cols: c.intermediateSize, values: gate)
            }
        }
    }

    /// Every expert of `model` (fp32) quantized by `method(weight, its inputs)`.
    public func quantize(_ model: MixtralModel, _ method: (Matrix, Matrix) throws -> any LinearOperator) rethrows -> [[ExpertWeights]] {
        try model.layers.enumerated().map { l, layer in
            try layer.experts.enumerated().map { e, expert in
                ExpertWeights(w1: try method(expert.w1.dequantized(), x[l][e]), w2: try method(expert.w2.dequantized(), hiddenActivations[l][e]),
                              w3: try method(expert.w3.dequantized(), x[l][e]))
            }
        }
    }

    /// SNR of the expert projections' outputs, `10·log10(Σ‖W x‖² / Σ‖(W − Ŵ) x‖²)` over every projection and
    /// routed token, with a 95 % bootstrap interval over chunks of 64 tokens.
    public func outputSNR(reference model: MixtralModel, candidate: [[ExpertWeights]]) -> Estimate {
        let chunks = (tokens + HeldoutComparison.defaultChunkTokens - 1) / HeldoutComparison.defaultChunkTokens
        var signal = [Double](repeating: 0, count: chunks), noise = signal
        func add(_ original: any LinearOperator, _ quantized: any LinearOperator, _ inputs: Matrix, _ index: [Int]) {
            guard inputs.rows > 0 else { return }
            let out = original.outFeatures
            var y = [Float](repeating: 0, count: inputs.rows * out), yq = y
            inputs.values.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { original.apply(batch: inputs.rows, xp.baseAddress!, into: $0.baseAddress!) }
                yq.withUnsafeMutableBufferPointer { quantized.apply(batch: inputs.rows, xp.baseAddress!, into: $0.baseAddress!) }
            }
            for r in 0..<inputs.rows {
                var s = 0.0, n = 0.0
                for i in (r * out)..<((r + 1) * out) {
                    s += Double(y[i]) * Double(y[i])
                    n += Double(y[i] - yq[i]) * Double(y[i] - yq[i])
                }
                signal[index[r] / HeldoutComparison.defaultChunkTokens] += s
                noise[index[r] / HeldoutComparison.defaultChunkTokens] += n
            }
        }
        for (l, layer) in model.layers.enumerated() {
            for (e, expert) in layer.experts.enumerated() {
                add(expert.w1, candidate[l][e].w1, x[l][e], tokenIndex[l][e])
                add(expert.w3, candidate[l][e].w3, x[l][e], tokenIndex[l][e])
                add(expert.w2, candidate[l][e].w2, hiddenActivations[l][e], tokenIndex[l][e])
            }
        }
        return Bootstrap.estimate(units: chunks) { counts in
            var s = 0.0, n = 0.0
            for i in 0..<chunks where counts[i] > 0 { s += signal[i] * Double(counts[i]); n += noise[i] * Double(counts[i]) }
            return 10 * log10(s / n)
        }
    }
}

extension MixtralModel {
    /// This model (experts resident at fp32) with its experts quantized by `precision` (`gptq4` or `awq4`),
    /// calibrated on `calibration`'s windows.
    /// `progress(steps done)` is called after the calibration inputs are recorded (1) and after each expert
    /// (1 + layers × experts in all): GPTQ takes seconds even on the default model.
    /// - Throws: `QuantizeError` (a scaled block that overflows Q4_0's fp16 scale); `EngineError`.
    func calibratingExperts(_ precision: Precision, calibration: CalibrationText, progress: ((Int) -> Void)? = nil) throws -> MixtralModel {
        let inputs = try ExpertCalibrationInputs(model: self, windows: calibration.windows(config))
        progress?(1)
        var projections = 0
        let experts = try inputs.quantize(self) { weight, x -> any LinearOperator in
            defer {
                projections += 1
                if projections % 3 == 0 { progress?(1 + projections / 3) }
            }
            return precision == .gptq4 ? GPTQ.quantizeToQ4_0(weight, inputs: x) : try AWQ.quantizeToQ4_0(weight, inputs: x, tensorName: "expert weight")
        }
        return replacingExperts(experts)
    }

    /// This model with every layer's experts replaced by `experts[layer]` (every other weight shared).
    public func replacingExperts(_ experts: [[ExpertWeights]]) -> MixtralModel {
        let layers = zip(self.layers, experts).map { layer, replaced in
            DecoderLayer(inputNorm: layer.inputNorm, attention: layer.attention, postAttentionNorm: layer.postAttentionNorm,
                         router: layer.router, experts: replaced)
        }
        return MixtralModel(config: config, embedding: embedding, layers: layers, finalNorm: finalNorm, lmHead: lmHead)
    }
}
