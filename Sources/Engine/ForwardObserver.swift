/// What the MoE router decided for one token at one layer.
public struct RoutingDecision: Sendable {
    public let layer: Int
    /// Absolute position of the token in the sequence.
    public let position: Int
    /// Raw router logits `[numExperts]` (before softmax).
    public let routerLogits: [Float]
    /// The top-k experts, best first (ties go to the lower index).
    public let experts: [Int]
    /// Their renormalised weights (sum 1), same order as `experts`.
    public let weights: [Float]
    /// The router's input `[hiddenSize]`: the residual stream after the post-attention RMSNorm.
    /// Offloading uses it to guess the next layers' experts (speculative prefetch).
    public let routerInput: [Float]
}

/// Receives events of a forward pass, in order: for every token of the call, each layer's routing decision,
/// then (per token) the residual stream after that layer. Used by tracing, offloading simulation and
/// error measurement; a pass with no observer records nothing and costs nothing.
public protocol ForwardObserver: AnyObject {
    /// Called after the router of `decision.layer` chose the experts of one token, before they run.
    func routed(_ decision: RoutingDecision)
    /// Called when `layer` has finished for a token: `residual` is the `[hiddenSize]` residual stream.
    func layerFinished(layer: Int, position: Int, residual: UnsafeBufferPointer<Float>)
}

extension ForwardObserver {
    public func routed(_ decision: RoutingDecision) {}
    public func layerFinished(layer: Int, position: Int, residual: UnsafeBufferPointer<Float>) {}
}
