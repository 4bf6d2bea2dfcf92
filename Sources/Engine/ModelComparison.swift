import Foundation
import Tensors
import Quantization

/// How far a candidate model (e.g. quantized) is from a reference (fp32) on the same tokens: next-token
/// distributions (KL, top-1 agreement) and the residual stream after every layer.
public struct ModelComparison {
    /// Mean over positions of KL(reference ‖ candidate) of the next-token distributions, in nats.
    public let meanKL: Double
    /// Fraction of positions whose most likely next token is the same.
    public let top1Agreement: Double
    /// `[numLayers][positions]`: ‖h_candidate − h_reference‖ / ‖h_reference‖ of the residual stream after
    /// each layer at each position.
    public let residualRelativeErrorByPosition: [[Double]]
    /// Per layer `[numLayers]`: the mean over positions of `residualRelativeErrorByPosition`.
    public var residualRelativeError: [Double] {
        residualRelativeErrorByPosition.map { $0.reduce(0, +) / Double(max($0.count, 1)) }
    }
    /// Positions compared.
    public let positions: Int

    /// Runs both models on `tokens` (teacher forcing: the same input at every position).
    /// - Throws: `EngineError` for a sequence longer than the context or ids outside the vocabulary.
    public init(reference: MixtralModel, candidate: MixtralModel, tokens: [Int]) throws {
        let vocab = reference.config.vocabSize
        let referenceRun = try ResidualRecorder.run(reference, tokens: tokens)
        let candidateRun = try ResidualRecorder.run(candidate, tokens: tokens)
        var kl = 0.0, agree = 0
        for p in 0..<tokens.count {
            let pRef = softmax(Array(referenceRun.logits[(p * vocab)..<((p + 1) * vocab)]))
            let pCand = softmax(Array(candidateRun.logits[(p * vocab)..<((p + 1) * vocab)]))
            kl += klDivergence(p: pRef, q: pCand)
            if argmax(pRef) == argmax(pCand) { agree += 1 }
        }
        meanKL = kl / Double(tokens.count)
        top1Agreement = Double(agree) / Double(tokens.count)
        residualRelativeErrorByPosition = zip(referenceRun.residuals, candidateRun.residuals).map { referenceLayer, candidateLayer in
            zip(referenceLayer, candidateLayer).map { h, hq in
                var difference = 0.0, norm = 0.0
                for (a, b) in zip(h, hq) {
                    difference += Double(b - a) * Double(b - a)
                    norm += Double(a) * Double(a)
                }
                return norm > 0 ? (difference / norm).squareRoot() : 0
            }
        }
        positions = tokens.count
    }
}

/// Keeps the residual stream after every layer `[layers][positions][hidden]` of one forward pass.
final class ResidualRecorder: ForwardObserver {
    var residuals: [[[Float]]]

    init(layers: Int) { residuals = Array(repeating: [], count: layers) }

    func layerFinished(layer: Int, position: Int, residual: UnsafeBufferPointer<Float>) {
        residuals[layer].append(Array(residual))
    }

    static func run(_ model: MixtralModel, tokens: [Int]) throws -> (logits: [Float], residuals: [[[Float]]]) {
        let recorder = ResidualRecorder(layers: model.config.numHiddenLayers)
        let session = Session(model: model, capacity: tokens.count, observer: recorder)
        let logits = try model.forward(tokens, session: session, allLogits: true)
        return (logits, recorder.residuals)
    }
}
