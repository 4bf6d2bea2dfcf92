import Engine
import Tracing

/// A `ForwardObserver` that turns the engine's routing decisions into `LayerStep`s: it collects one
/// layer's decisions for every token of a forward call and hands them over when the layer finishes.
///
/// With `lookahead` > 0 it also applies the routers of the next `lookahead` layers to each token's router
/// input (`model.layers[L+d].router`, the speculative guess of Eliseev & Mazur 2023, section 3.2). This
/// reads the model; it never changes anything the forward pass computes. Prefill tokens get no guesses
/// (only decode steps prefetch).
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
        // only decode steps prefetch: the prefill's tokens need no guesses
        let guesses = lookahead > 0 && stepsSeen[decision.layer] > 0
            ? lookaheadRouterLogits(model: model, layer: decision.layer, routerInput: decision.routerInput, depth: lookahead) : []
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

/// Speculative router logits (Eliseev & Mazur 2023, section 3.2): the routers of layers L+1 … L+depth
/// applied to `routerInput`, layer L's router input `[hiddenSize]`; `[min(depth, layers − L − 1)][numExperts]`.
/// The one computation of the guesses, for the simulator's recordings and the real engine's prefetches.
public func lookaheadRouterLogits(model: MixtralModel, layer l: Int, routerInput: [Float], depth: Int) -> [[Float]] {
    ((l + 1)..<min(l + 1 + depth, model.layers.count)).map { model.layers[$0].router.apply(routerInput) }
}
