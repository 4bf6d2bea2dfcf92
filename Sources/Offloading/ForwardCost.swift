import Tracing

/// Simulated cost of one forward call.
public struct ForwardCost: Sendable, Equatable {
    public var phase: Phase
    /// From the call's first layer starting to its logits, µs.
    public var latencyUs: Double
    public var stallUs: Double
    /// Simulated time at the end of the call, µs since the run began.
    public var endUs: Double
}
