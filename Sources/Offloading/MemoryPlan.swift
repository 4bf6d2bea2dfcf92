import Checkpoints
import Quantization

/// Where a model's weights go on a machine with a fast and a slow tier, and how fast decoding would be:
/// non-expert weights and the KV cache in the fast tier, as many experts per layer as fit beside them
/// (the expert cache), the rest in the slow tier.
public struct MemoryPlan: Sendable {
    public let config: MixtralConfig
    public let precision: PrecisionSpec
    public let footprint: ModelFootprint
    public let cost: CostModel
    /// Fast-tier bytes usable for the model: capacity minus `reserveBytes`.
    public let fastBytes: Int
    public let slowBytes: Int
    /// Fast-tier bytes kept free for the OS, runtime and activations.
    public let reserveBytes: Int
    /// KV cache for `contextTokens` positions, fp32 as this engine stores it:
    /// `layers · 2 · kvHeads · headDim · contextTokens · 4`.
    public let kvCacheBytes: Int
    public let contextTokens: Int

    /// - Parameters:
    ///   - hardware: the machine; its memory sizes are replaced by `fastBytes`/`slowBytes` when given.
    ///   - reserveBytes: fast-tier bytes not available to the model.
    ///   - contextTokens: positions of KV cache to plan for.
    public init(config: MixtralConfig, precision: PrecisionSpec, hardware: HardwareProfile,
                fastBytes: Int? = nil, slowBytes: Int? = nil, reserveBytes: Int, contextTokens: Int) {
        self.config = config
        self.precision = precision
        footprint = ModelFootprint(config: config, precision: precision)
        cost = CostModel(hardware: hardware, footprint: footprint)
        self.fastBytes = max(0, (fastBytes ?? hardware.fastMemoryBytes) - reserveBytes)
        self.slowBytes = slowBytes ?? hardware.slowMemoryBytes
        self.reserveBytes = reserveBytes
        self.contextTokens = contextTokens
        kvCacheBytes = config.numHiddenLayers * 2 * config.numKeyValueHeads * config.headDim * contextTokens * 4
    }

    /// Bytes that must be in the fast tier whatever the policy: non-expert weights and the KV cache.
    public var residentBytes: Int { footprint.residentBytes + kvCacheBytes }
    /// One expert, bytes.
    public var expertBytes: Int { footprint.largestExpertBytes }
    /// All experts, bytes.
    public var allExpertBytes: Int { footprint.bytesByClass[.experts] ?? 0 }
    /// Whole model plus KV cache fits in the fast tier: no offloading needed.
    public var fitsResident: Bool { residentBytes + allExpertBytes <= fastBytes }

    /// The largest expert cache that fits: slots per layer (0…numExperts) beside the resident bytes.
    public var cacheExperts: Int {
        let free = fastBytes - residentBytes
        guard free > 0, expertBytes > 0 else { return 0 }
        return min(config.numExperts, free / (expertBytes * config.numHiddenLayers))
    }

    /// Experts left in the slow tier with the largest cache, bytes.
    public var offloadedBytes: Int { allExpertBytes - cacheExperts * config.numHiddenLayers * expertBytes }

    /// The plan can run at all: resident part fits the fast tier and the offloaded experts fit the slow tier.
    public var runnable: Bool { residentBytes <= fastBytes && offloadedBytes <= slowBytes }

    /// One decode token's estimate for a way of serving experts.
    public struct Estimate: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// Every expert in the fast tier.
            case resident
            /// No cache: every needed expert fetched.
            case stream
            /// A demand-fetching cache (lru, lfu, static, optimal) at a hit rate.
            case demandCache
            /// The same misses, each fetched during the previous layer's compute (perfect speculative prefetch).
            case perfectPrefetch
            /// Nothing copied: fixed residents, every other expert computed by the host CPU (`cpu-compute`).
            case cpuCompute
            /// Fixed residents, each miss computed by the host CPU or copied, whichever is cheaper (`cheaper`).
            case cheaper
        }
        public var kind: Kind
        public var strategy: String
        /// Fraction of expert accesses served from the fast tier.
        public var hitRate: Double
        public var tokenUs: Double
        public var stallUs: Double
        public var tokensPerSecond: Double { tokenUs > 0 ? 1e6 / tokenUs : 0 }
    }

    /// Decode-speed estimates (batch 1), one per strategy:
    /// - `resident`: everything in the fast tier (only when it fits);
    /// - `stream (no cache)`: every needed expert fetched, hit rate 0;
    /// - `demand cache` (lru, lfu, static or optimal — they differ only in hit rate) at `hitRate`;
    /// - `lru+prefetch, perfect guesses`: the same misses, each fetched during the previous layer's compute
    ///   (an upper bound on speculative prefetch; layer 0 cannot overlap);
    /// - `cpu-compute` (when the profile has a host CPU and the model does not fit): the expert cache's
    ///   slots hold fixed experts, chosen without looking at the routing, so they serve `uniformHitRate` of
    ///   the accesses; every other expert is computed by the host CPU (`CostModel.hostExpertUs`), never copied;
    /// - `cheaper` (same condition): the same fixed slots, each miss computed by the host CPU or copied and
    ///   computed in the fast tier, whichever `CostModel.hostIsCheaper` picks.
    /// Per layer: compute = attention + top-k experts (`CostModel`), misses = (1 − hit rate) · top-k,
    /// each costing one expert transfer (or, for `cpu-compute`, one expert on the host instead of on the GPU).
    public func estimates(hitRate: Double) -> [Estimate] {
        var results: [Estimate] = []
        if fitsResident { results.append(decode(.resident, "resident", hitRate: 1)) }
        results.append(decode(.stream, "stream (no cache)", hitRate: 0))
        if cacheExperts > 0 {
            results.append(decode(.demandCache, "demand cache (lru/lfu/static/optimal), \(counted(cacheExperts, "slot"))", hitRate: hitRate))
            results.append(decode(.perfectPrefetch, "lru+prefetch, perfect guesses, \(counted(cacheExperts, "slot"))", hitRate: hitRate))
        }
        if !fitsResident, let hostUs = cost.hostExpertUs(layer: 0, expert: 0, rows: 1) {
            let k = Double(config.numExpertsPerToken), h = uniformHitRate
            let copyUs = cost.transferUs(bytes: expertBytes) + cost.expertUs(layer: 0, expert: 0, rows: 1)
            for (kind, missUs, strategy) in [(Estimate.Kind.cpuCompute, hostUs, "misses on the host CPU"),
                                              (.cheaper, min(hostUs, copyUs), "each miss where cheaper")] {
                var total = cost.headUs
                for l in 0..<config.numHiddenLayers {
                    total += cost.attentionUs(layer: l, tokens: 1) + k * h * cost.expertUs(layer: l, expert: 0, rows: 1) + k * (1 - h) * missUs
                }
                let stall = kind == .cheaper && copyUs < hostUs ? Double(config.numHiddenLayers) * k * (1 - h) * cost.transferUs(bytes: expertBytes) : 0
                results.append(Estimate(kind: kind, strategy: "\(kind == .cheaper ? "cheaper" : "cpu-compute"), \(counted(cacheExperts, "fixed slot")), \(strategy)",
                                        hitRate: h, tokenUs: total, stallUs: stall))
            }
        }
        return results
    }

    /// The hit rate an LRU cache of `cacheExperts` of `numExperts` gets if routing were uniformly random:
    /// `cacheExperts / numExperts`. Real routing repeats experts more (Eliseev & Mazur 2023, Figure 2), so a
    /// measured rate from `trace` is better.
    public var uniformHitRate: Double { Double(cacheExperts) / Double(config.numExperts) }

    /// The fastest estimate of the engine's own strategies that needs no perfect foresight (resident, stream
    /// or demand cache; not the `cpu-compute` baseline), tokens/s.
    public func bestRealisticTokensPerSecond(hitRate: Double) -> Double {
        estimates(hitRate: hitRate).filter { [.resident, .stream, .demandCache].contains($0.kind) }.map(\.tokensPerSecond).max() ?? 0
    }

    private func decode(_ kind: Estimate.Kind, _ strategy: String, hitRate: Double) -> Estimate {
        let overlap = kind == .perfectPrefetch
        let k = config.numExpertsPerToken
        let missUs = Double(k) * (1 - hitRate) * cost.transferUs(bytes: expertBytes)
        var total = cost.headUs, stall = 0.0, previousComputeUs = 0.0
        for l in 0..<config.numHiddenLayers {
            let compute = cost.attentionUs(layer: l, tokens: 1) + cost.expertsUs(layer: l, experts: Array(0..<k), rows: k)
            let layerStall = overlap && l > 0 ? max(0, missUs - previousComputeUs) : missUs
            total += compute + layerStall
            stall += layerStall
            previousComputeUs = compute
        }
        return Estimate(kind: kind, strategy: strategy, hitRate: hitRate, tokenUs: total, stallUs: stall)
    }
}
