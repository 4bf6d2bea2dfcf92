/// One expert read as it is queued on the link — the simulator's (`OffloadingSimulator.onReadQueued`) or
/// the real engine's I/O thread (`DiskExpertProvider.onReadQueued`). On the same routing both queue the
/// same reads in the same order at the same points of the forward pass: tests compare the two.
public struct QueuedRead: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// A demand read into a slot of the layer.
        case slot
        /// A demand read into one of the transient buffers, used once and dropped.
        case transient
        /// A speculative read into a slot of a later layer.
        case prefetch
    }

    /// The layer whose slot or buffer receives the expert.
    public var layer: Int
    public var expert: Int
    public var kind: Kind
    /// How many of the current step's experts the forward pass had asked for when the read was queued
    /// (0: when the router had chosen, before any expert ran).
    public var afterExperts: Int

    public init(layer: Int, expert: Int, kind: Kind, afterExperts: Int) {
        self.layer = layer
        self.expert = expert
        self.kind = kind
        self.afterExperts = afterExperts
    }

    public var description: String { "\(kind) \(layer).\(expert) after \(afterExperts)" }
}
