/// Whether a forward call processed the prompt (prefill, all prompt tokens in one batch) or one newly
/// generated token (decode).
public enum Phase: String, Codable, Sendable {
    case prefill, decode
}

/// An expert of a given MoE layer.
public struct LayerExpert: Codable, Sendable, Equatable, Hashable {
    public var layer: Int
    public var expert: Int

    public init(layer: Int, expert: Int) {
        self.layer = layer
        self.expert = expert
    }
}

/// One expert transfer from the slow tier to the fast tier, on the simulated clock.
public struct TransferRecord: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// Fetched because a token needed it and it was not resident (the layer waits for it).
        case demand
        /// Fetched speculatively for a later layer, overlapping compute.
        case prefetch
    }
    public var expert: Int
    /// The MoE layer whose cache receives the expert.
    public var layer: Int
    public var kind: Kind
    public var bytes: Int
    /// Simulated start and duration in microseconds (duration = bytes / link bandwidth + link latency).
    public var startUs: Double
    public var durationUs: Double

    public init(expert: Int, layer: Int, kind: Kind, bytes: Int, startUs: Double, durationUs: Double) {
        self.expert = expert
        self.layer = layer
        self.kind = kind
        self.bytes = bytes
        self.startUs = startUs
        self.durationUs = durationUs
    }
}

/// The exact simulated timeline of one layer in one forward call: attention, the wait for missing
/// experts, the experts, and every transfer issued during the layer. Present only on the record of the
/// call's first token (a prefill runs each layer once for the whole prompt).
public struct LayerTimeline: Codable, Sendable, Equatable {
    /// Layer start on the simulated clock, µs since the run began.
    public var startUs: Double
    /// Attention block (and router) compute, µs.
    public var attentionUs: Double
    /// Wait between the router's decision and the last needed expert arriving, µs.
    public var stallUs: Double
    /// Expert feed-forward compute, µs.
    public var expertsUs: Double
    public var transfers: [TransferRecord]

    public init(startUs: Double, attentionUs: Double, stallUs: Double, expertsUs: Double, transfers: [TransferRecord]) {
        self.startUs = startUs
        self.attentionUs = attentionUs
        self.stallUs = stallUs
        self.expertsUs = expertsUs
        self.transfers = transfers
    }
}

/// What a run that really streamed experts from disk (`--ram-budget`) did at one layer of one forward
/// call: the real cache's answers and the measured reads, next to the simulated ones of a `LayerRecord`.
/// Present on the record of the call's first token only.
public struct RealReads: Codable, Sendable, Equatable {
    /// Experts found in a slot (prefetched ones included).
    public var hits: [Int]
    /// Experts read on demand.
    public var misses: [Int]
    /// Misses read into the transient buffer and dropped after use (not stored in a slot).
    public var transient: [Int]
    /// Hits that were in a slot only because a prefetch read them for this step.
    public var prefetchHits: [Int]
    /// Experts read ahead during this layer for later layers' slots.
    public var prefetched: [LayerExpert]
    /// Experts evicted from this layer's slots for this step's misses.
    public var evicted: [Int]
    /// Bytes read from disk by the reads this layer step issued (demand and prefetch).
    public var readBytes: Int
    /// Time those reads took on the I/O thread, µs.
    public var readUs: Double
    /// Time the forward pass waited for reads during this layer, µs.
    public var stallUs: Double

    public init(hits: [Int] = [], misses: [Int] = [], transient: [Int] = [], prefetchHits: [Int] = [],
                prefetched: [LayerExpert] = [], evicted: [Int] = [], readBytes: Int = 0, readUs: Double = 0, stallUs: Double = 0) {
        self.hits = hits
        self.misses = misses
        self.transient = transient
        self.prefetchHits = prefetchHits
        self.prefetched = prefetched
        self.evicted = evicted
        self.readBytes = readBytes
        self.readUs = readUs
        self.stallUs = stallUs
    }
}

/// What happened for one token at one MoE layer: the routing, the cache's answer, and the simulated cost.
///
/// In a prefill, the layer's cache work is counted once for the whole prompt: an expert is accessed by the
/// first prompt token routed to it (its hit or miss is on that token's record) and later prompt tokens
/// routed to the same expert list it under `shared`. The layer's compute and stall time is split equally
/// over the prompt's tokens; transfer time goes to the token whose access caused it.
public struct LayerRecord: Codable, Sendable, Equatable {
    /// Absolute position of the token.
    public var position: Int
    public var layer: Int
    public var phase: Phase
    /// Raw router logits `[numExperts]`.
    public var routerLogits: [Float]
    /// Chosen experts, best first, and their renormalised weights.
    public var experts: [Int]
    public var weights: [Float]
    /// Experts of this token found resident (prefetched ones included).
    public var hits: [Int]
    /// Experts of this token fetched on demand.
    public var misses: [Int]
    /// Prefill only: experts of this token already brought in for an earlier prompt token of the batch.
    public var shared: [Int]
    /// Experts prefetched during this layer for the next layers' caches.
    public var prefetched: [LayerExpert]
    /// Hits that were resident only because a prefetch brought them for this step.
    public var prefetchHits: [Int]
    /// Experts evicted from this layer's cache to make room for this token's misses.
    public var evicted: [Int]
    /// Experts evicted from later layers' caches to make room for this record's prefetches.
    public var prefetchEvicted: [LayerExpert]
    /// Bytes moved over the link for this token at this layer (demand fetches and prefetches it issued).
    public var bytesMoved: Int
    public var computeUs: Double
    public var transferUs: Double
    public var stallUs: Double
    /// The layer's exact timeline (first token of the forward call only; nil otherwise).
    public var timeline: LayerTimeline?
    /// The real reads of a run streaming experts from disk (first token of the forward call only; nil
    /// otherwise and in simulation-only runs).
    public var real: RealReads?

    public init(position: Int, layer: Int, phase: Phase, routerLogits: [Float], experts: [Int], weights: [Float],
                hits: [Int] = [], misses: [Int] = [], shared: [Int] = [], prefetched: [LayerExpert] = [],
                prefetchHits: [Int] = [], evicted: [Int] = [], prefetchEvicted: [LayerExpert] = [], bytesMoved: Int = 0, computeUs: Double = 0,
                transferUs: Double = 0, stallUs: Double = 0, timeline: LayerTimeline? = nil, real: RealReads? = nil) {
        self.position = position
        self.layer = layer
        self.phase = phase
        self.routerLogits = routerLogits
        self.experts = experts
        self.weights = weights
        self.hits = hits
        self.misses = misses
        self.shared = shared
        self.prefetched = prefetched
        self.prefetchHits = prefetchHits
        self.evicted = evicted
        self.prefetchEvicted = prefetchEvicted
        self.bytesMoved = bytesMoved
        self.computeUs = computeUs
        self.transferUs = transferUs
        self.stallUs = stallUs
        self.timeline = timeline
        self.real = real
    }
}
