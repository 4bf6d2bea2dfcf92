/// Keeps every trace record in memory, in arrival order: for charts and the step-through simulator, which
/// read a run's records after it finished. Use it only for short runs (the file writers stream instead).
public final class CollectingTraceSink: TraceSink {
    /// One record per token × MoE layer, in run order.
    public private(set) var layers: [LayerRecord] = []
    /// One record per produced token, in run order.
    public private(set) var tokens: [TokenRecord] = []

    public init() {}

    public func write(_ record: LayerRecord) { layers.append(record) }
    public func write(_ record: TokenRecord) { tokens.append(record) }
    /// Nothing to flush.
    public func close() throws {}
}
