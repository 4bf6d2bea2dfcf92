/// How large the fast-tier expert cache is: a number of expert slots per MoE layer, or a byte budget for
/// experts over all layers. A byte budget makes the slot count depend on the precision — the same budget
/// holds about 7× more q4 experts (4.5 bits per weight) than fp32 ones.
public enum CacheSize: Sendable, Equatable, CustomStringConvertible {
    /// `--cache-experts K`: K slots in every MoE layer.
    case experts(Int)
    /// `--cache-bytes SIZE`: slots per layer = budget / (layers × the largest expert's bytes).
    case bytes(Int)
    /// No size given: half the experts of each layer.
    case halfTheExperts

    /// Slots per MoE layer for a model of this footprint. A byte budget that holds every expert gives
    /// `numExperts` slots (the cache cannot hold more than there is).
    /// - Throws: `OffloadingError.invalidSetting` for a negative count, or more slots than the model has
    ///   experts per layer.
    public func slots(for footprint: ModelFootprint) throws -> Int {
        switch self {
        case .experts(let count):
            guard count >= 0 else { throw OffloadingError.invalidSetting(flag: "--cache-experts", reason: "must be ≥ 0") }
            guard count <= footprint.numExperts else {
                throw OffloadingError.invalidSetting(flag: "--cache-experts",
                    reason: "\(count) slots per layer, but the model has \(footprint.numExperts) experts per layer; give 0…\(footprint.numExperts)")
            }
            return count
        case .bytes(let budget):
            guard budget >= 0 else { throw OffloadingError.invalidSetting(flag: "--cache-bytes", reason: "must be ≥ 0") }
            return min(footprint.numExperts, budget / max(1, footprint.numLayers * footprint.largestExpertBytes))
        case .halfTheExperts:
            return footprint.numExperts / 2
        }
    }

    public var description: String {
        switch self {
        case .experts(let count): return "\(counted(count, "expert")) per layer"
        case .bytes(let budget): return "\(ByteSize.format(budget)) for experts"
        case .halfTheExperts: return "half the experts per layer"
        }
    }
}

/// One offloading simulation's settings — policy, cache size and machine — as the command-line flags
/// give them (`--policy`, `--cache-experts`/`--cache-bytes`, `--hardware`), ready to replay a model's
/// recorded routing.
public struct OffloadingSetup: Sendable {
    public let policy: PolicySpec
    public let cache: CacheSize
    public let hardware: HardwareProfile

    public init(policy: PolicySpec, cache: CacheSize, hardware: HardwareProfile) {
        self.policy = policy
        self.cache = cache
        self.hardware = hardware
    }

    /// Replays `run` (recorded on `model` with at least `policy.lookahead` layers of lookahead) through
    /// this policy and cache on the hardware's simulated clock. Expert sizes are the model's real sizes
    /// at its precision.
    /// - Throws: `OffloadingError.invalidSetting` for a cache size the model cannot have or a lookahead
    ///   the run did not record.
    public func simulate(_ run: RecordedRun, model footprint: ModelFootprint) throws -> OffloadingSummary {
        let cost = CostModel(hardware: hardware, footprint: footprint)
        return try run.simulate(policy: policy, cacheExperts: try cache.slots(for: footprint), cost: cost)
    }
}
