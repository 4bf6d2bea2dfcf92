/// Totals of a run whose experts were really streamed from disk (`DiskExpertProvider`): the cache's
/// decisions (`ExpertCache`, the same as the simulator's on the same routing) and the measured reads.
public struct DiskOffloadingSummary: Codable, Sendable, Equatable {
    public var policy: String
    /// Expert slots per MoE layer (the fewest of any layer).
    public var slotsPerLayer: Int
    /// Layers holding one slot more than `slotsPerLayer` (the budget's remainder).
    public var extraSlotLayers: [Int]
    /// Where the experts were read from, and how the page cache was kept out of the measurement.
    public var source: String
    public var pageCache: String
    /// Distinct experts used per layer per forward call = hits + misses.
    public var accesses = 0
    public var hits = 0
    /// Experts read on demand (into a slot, or through the transient buffer).
    public var misses = 0
    public var hitRate = 0.0
    public var decodeHits = 0
    public var decodeMisses = 0
    public var decodeHitRate = 0.0
    /// Expert accesses in decode steps (0 for a run of prefills only, whose `decodeHitRate` 0 then counts nothing).
    public var decodeAccesses: Int { decodeHits + decodeMisses }
    /// Misses the policy did not store (every slot held an expert of the same step, or the policy
    /// declined): read into the transient buffer, used once and dropped.
    public var transientMisses = 0
    public var prefetched = 0
    /// The prefill's share of `prefetched` (a long prompt's next-layer experts, `ExpertCache.prefillPrefetchTokens`).
    public var prefillPrefetched = 0
    /// Prefetched experts used at the step they were read for.
    public var prefetchHits = 0
    /// Prefetched experts not used at that step.
    public var prefetchWasted = 0
    /// Prefetched experts evicted before that step.
    public var prefetchCancelled = 0
    /// Prefetch hits whose read had not finished when the forward pass asked for the expert (it waited).
    public var prefetchesLate = 0
    /// Prefetched experts evicted before their read started (cancelled, or evicted after they were found
    /// wasted): nothing was read for them.
    public var prefetchesNotRead = 0
    public var evictions = 0
    /// Bytes read from disk (demand reads and prefetches) and the time those reads took on the I/O thread.
    public var bytesRead = 0
    public var readSeconds = 0.0
    /// Time the forward pass waited for reads.
    public var stallSeconds = 0.0
    /// The part of `stallSeconds` during which the read waited for had not started: it was queued behind
    /// other reads on the I/O thread (an earlier layer's prefetches or transient reads, this layer's reads
    /// of experts that run before it). So one layer's stall can exceed the time of the reads it issued.
    public var stallQueuedSeconds = 0.0
    /// The part of `stallSeconds` after the read waited for had finished, until the waiting thread ran again
    /// (the scheduler's delay in waking it: small on an idle machine, up to a time slice when every core is busy).
    public var stallWakeSeconds = 0.0
    /// The prefill's (first forward call's) share: bytes read for it, the I/O thread's time reading them, and
    /// the time the forward pass waited for them. Its compute is about the prefill's wall time less the wait.
    public var prefillBytesRead = 0
    public var prefillReadSeconds = 0.0
    public var prefillStallSeconds = 0.0
    /// The decode steps' share, as the prefill's: bytes read for them (prefetches issued during them
    /// included), the I/O thread's time reading them, and the time the forward pass waited. Per decoded
    /// token, the time not waited is compute (attention, experts, head, sampling).
    public var decodeBytesRead = 0
    public var decodeReadSeconds = 0.0
    public var decodeStallSeconds = 0.0
    /// The decode steps' part of `stallQueuedSeconds`.
    public var decodeStallQueuedSeconds = 0.0
    /// Decode forward calls and their wall-clock time, measured by the command that ran them (0 when it
    /// did not), and decodeTokens / decodeSeconds.
    public var decodeTokens = 0
    public var decodeSeconds = 0.0
    public var decodeTokensPerSecond = 0.0

    public init(policy: String, slots: [Int], source: String, pageCache: String) {
        let layers = LayerSlots(slots)
        self.policy = policy
        slotsPerLayer = layers.fewest
        extraSlotLayers = layers.layersWithMore
        self.source = source
        self.pageCache = pageCache
    }

    /// Read throughput, bytes per second of read time (0 before any read).
    public var readBytesPerSecond: Double { readSeconds > 0 ? Double(bytesRead) / readSeconds : 0 }

    /// Records the measured decode time of `tokens` decode steps.
    public mutating func setDecode(tokens: Int, seconds: Double) {
        decodeTokens = tokens
        decodeSeconds = seconds
        decodeTokensPerSecond = seconds > 0 ? Double(tokens) / seconds : 0
    }

    mutating func finalize() {
        accesses = hits + misses
        hitRate = accesses > 0 ? Double(hits) / Double(accesses) : 0
        decodeHitRate = decodeAccesses > 0 ? Double(decodeHits) / Double(decodeAccesses) : 0
    }
}
