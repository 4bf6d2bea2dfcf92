import Engine
import Tracing

/// A `ForwardObserver` that turns the engine's routing decisions into `LayerStep`s: it collects one
/// layer's decisions for every token of a forward call and hands them over when the layer finishes.
///
/// With `lookahead` > 0 it also applies the routers of the next `lookahead` layers to each token's router
/// input (`model.layers[L+d].router`, the speculative guess of Eliseev & Mazur 2023, section 3.2). This
/// reads the model; it never changes anything the forward pass computes.
///
/// The first forward call it sees is the prefill; later ones are decode steps.
public final class RoutingRecorder: ForwardObserver {
    private let model: MixtralModel
    private let lookahead: Int
    private let onStep: (LayerStep) -> Void
    private var pending: [TokenRouting] = []
    private var stepsSeen: [Int]

    /// - Parameters:
    ///   - model: the model being run (its routers give the speculative logits).
    ///   - lookahead: layers ahead to guess for (0: none).
    ///   - onStep: receives each completed layer step, in engine order.
    public init(model: MixtralModel, lookahead: Int = 0, onStep: @escaping (LayerStep) -> Void) {
        self.model = model
        self.lookahead = lookahead
        self.onStep = onStep
        stepsSeen = Array(repeating: 0, count: model.layers.count)
    }

    public func routed(_ decision: RoutingDecision) {
        let l = decision.layer
        let guesses = (0..<lookahead).compactMap { d -> [Float]? in
            let target = l + 1 + d
            return target < model.layers.count ? model.layers[target].router.apply(decision.routerInput) : nil
        }
        pending.append(TokenRouting(position: decision.position, routerLogits: decision.routerLogits,
                                    experts: decision.experts, weights: decision.weights, lookaheadLogits: guesses))
    }

    public func layerFinished(layer: Int, position: Int, residual: UnsafeBufferPointer<Float>) {
        guard !pending.isEmpty else { return }
        let phase: Phase = stepsSeen[layer] == 0 ? .prefill : .decode
        stepsSeen[layer] += 1
        let step = LayerStep(layer: layer, phase: phase, tokens: pending)
        pending.removeAll(keepingCapacity: true)
        onStep(step)
    }
}
