/// Totals of a run whose experts were really streamed from disk (`DiskExpertProvider`): the cache's
/// answers, as the simulator counts them, and the measured reads.
public struct DiskOffloadingSummary: Codable, Sendable, Equatable {
    public var policy: String
    public var slotsPerLayer: Int
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
    /// Misses the policy did not store (every slot held an expert of the same step, or the policy
    /// declined): read into the transient buffer, used once and dropped.
    public var transientReads = 0
    public var prefetched = 0
    /// Prefetched experts used at the step they were read for.
    public var prefetchHits = 0
    /// Prefetched experts not used at that step.
    public var prefetchWasted = 0
    /// Prefetched experts evicted before that step.
    public var prefetchCancelled = 0
    /// Prefetches whose slot was taken back before their read started (evicted, or the slot reused after
    /// they were found useless): nothing was read for them.
    public var prefetchesNotRead = 0
    public var evictions = 0
    /// Bytes read from disk (demand reads and prefetches) and the time those reads took on the I/O thread.
    public var bytesRead = 0
    public var readSeconds = 0.0
    /// Time the forward pass waited for reads.
    public var stallSeconds = 0.0

    public init(policy: String, slotsPerLayer: Int, source: String, pageCache: String) {
        self.policy = policy
        self.slotsPerLayer = slotsPerLayer
        self.source = source
        self.pageCache = pageCache
    }

    /// Read throughput, bytes per second of read time (0 before any read).
    public var readBytesPerSecond: Double { readSeconds > 0 ? Double(bytesRead) / readSeconds : 0 }

    mutating func finalize() {
        accesses = hits + misses
        hitRate = accesses > 0 ? Double(hits) / Double(accesses) : 0
        let decodeAccesses = decodeHits + decodeMisses
        decodeHitRate = decodeAccesses > 0 ? Double(decodeHits) / Double(decodeAccesses) : 0
    }
}
