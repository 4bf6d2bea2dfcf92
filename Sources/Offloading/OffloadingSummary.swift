/// Totals of one simulated run. `summary.json` is this struct with snake_case keys.
public struct OffloadingSummary: Codable, Sendable, Equatable {
    public var policy: String
    /// Fast-tier expert slots per MoE layer (the fewest of any layer).
    public var cacheExperts: Int
    /// Layers holding one slot more than `cacheExperts` (a RAM budget's remainder; usually empty).
    public var extraSlotLayers: [Int]
    /// Bytes those slots occupy over all layers.
    public var cacheBytes: Int
    public var hardware: String
    /// Expert accesses (one per distinct expert per layer per forward call) = hits + misses.
    public var accesses = 0
    public var hits = 0
    public var misses = 0
    /// hits / accesses (0 when there were none).
    public var hitRate = 0.0
    /// The same over decode steps only.
    public var decodeHits = 0
    public var decodeMisses = 0
    public var decodeHitRate = 0.0
    /// Expert accesses in decode steps (0 for a run of prefills only, whose `decodeHitRate` 0 then counts nothing).
    public var decodeAccesses: Int { decodeHits + decodeMisses }
    /// Misses not stored in a slot (no slot could be freed, or the policy declined): read into the
    /// transient buffer, used once and dropped.
    public var transientMisses = 0
    /// Misses computed by the host CPU where they live, not copied (`cpu-compute`).
    public var hostComputed = 0
    public var prefetched = 0
    /// Prefetched experts that were used at the step they were fetched for.
    public var prefetchHits = 0
    /// Prefetched experts not used at that step (useless prefetch).
    public var prefetchWasted = 0
    /// Prefetched experts evicted before that step (cancelled prefetch).
    public var prefetchCancelled = 0
    /// Prefetch hits whose transfer had not finished when their layer's router did (the layer waited).
    public var prefetchesLate = 0
    /// Prefetched experts evicted before their transfer would have started (the real engine skips such a
    /// read; the simulated link still carries it).
    public var prefetchesNotRead = 0
    public var evictions = 0
    /// Bytes moved slow → fast tier: the sum of the real sizes of every expert fetched or prefetched.
    public var bytesTransferred = 0
    /// Simulated time waiting for experts, µs (prefill and decode).
    public var stallUs = 0.0
    /// Simulated time of the prefill forward call, µs.
    public var prefillUs = 0.0
    /// Decode forward calls and their simulated time, µs.
    public var decodeTokens = 0
    public var decodeUs = 0.0
    public var decodeStallUs = 0.0
    /// decodeTokens / decodeUs in tokens per second (0 without decode steps).
    public var tokensPerSecondEst = 0.0
    public var assumptions: [String] = []

    public init(policy: String, slots: [Int], cacheBytes: Int, hardware: String) {
        let layers = LayerSlots(slots)
        self.policy = policy
        cacheExperts = layers.fewest
        extraSlotLayers = layers.layersWithMore
        self.cacheBytes = cacheBytes
        self.hardware = hardware
    }

    /// Fills the derived rates.
    mutating func finalize() {
        accesses = hits + misses
        hitRate = accesses > 0 ? Double(hits) / Double(accesses) : 0
        decodeHitRate = decodeAccesses > 0 ? Double(decodeHits) / Double(decodeAccesses) : 0
        tokensPerSecondEst = decodeUs > 0 ? Double(decodeTokens) / (decodeUs / 1e6) : 0
    }
}
