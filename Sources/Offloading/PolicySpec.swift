/// A cache policy as chosen on the command line (`--policy`, `--prefetch`, `--lookahead`); makes one
/// `CachePolicy` per MoE layer for a run.
public enum PolicySpec: Sendable, Equatable, CustomStringConvertible {
    case resident
    case lru
    case lfu
    case staticPrompt
    case lruPrefetch(PrefetchSettings)
    /// Belady's rule; needs the recorded routing of the whole run.
    case optimal
    /// The baseline without copies (llama.cpp's partial offload, `--n-cpu-moe`; Fiddler): a fixed set of
    /// experts in the fast tier, every other one computed by the host CPU where it lives (`CPUComputePolicy`).
    case cpuCompute
    /// `cpu-compute`'s fixed experts, but each miss either computed by the host CPU or copied through the
    /// transient buffer and computed in the fast tier, whichever the hardware profile says is cheaper for
    /// that miss (`CostModel.hostIsCheaper`) — Fiddler's per-expert choice (Kamahori et al. 2024, arXiv:2402.07033).
    case cheaper

    /// Command-line names, in the order sweeps print them.
    public static let names = ["resident", "lru", "lfu", "static", "lru+prefetch", "optimal", "cpu-compute", "cheaper"]

    /// - Parameters:
    ///   - name: one of `names`.
    ///   - prefetch: settings used when `name` is `lru+prefetch`.
    /// - Throws: `OffloadingError.unknownPolicy`.
    public init(name: String, prefetch: PrefetchSettings = PrefetchSettings(experts: 2, lookahead: 1)) throws {
        switch name {
        case "resident": self = .resident
        case "lru": self = .lru
        case "lfu": self = .lfu
        case "static": self = .staticPrompt
        case "lru+prefetch": self = .lruPrefetch(prefetch)
        case "optimal": self = .optimal
        case "cpu-compute": self = .cpuCompute
        case "cheaper": self = .cheaper
        default: throw OffloadingError.unknownPolicy(name, known: Self.names)
        }
    }

    /// Every policy that copies its misses into the fast tier (all but `cpu-compute` and `cheaper`, which need
    /// a host CPU in the hardware profile), `lru+prefetch` with `prefetch`.
    public static func all(prefetch: PrefetchSettings) -> [PolicySpec] {
        names.map { try! PolicySpec(name: $0, prefetch: prefetch) }.filter { !$0.computesMissesOnHost }
    }

    /// Misses may be computed by the host CPU from host RAM instead of being copied to the fast tier (always
    /// for `cpu-compute`, when cheaper for `cheaper`); the hardware profile needs a host CPU.
    public var computesMissesOnHost: Bool { self == .cpuCompute || self == .cheaper }

    public var description: String {
        switch self {
        case .resident: return "resident"
        case .lru: return "lru"
        case .lfu: return "lfu"
        case .staticPrompt: return "static"
        case .lruPrefetch: return "lru+prefetch"
        case .optimal: return "optimal"
        case .cpuCompute: return "cpu-compute"
        case .cheaper: return "cheaper"
        }
    }

    /// Layers ahead whose routers the routing recording must apply (0 unless prefetching).
    public var lookahead: Int {
        if case .lruPrefetch(let settings) = self { return settings.lookahead }
        return 0
    }

    /// Slots per layer for a budget of `cacheExperts`: `resident` always holds all `numExperts`.
    public func capacity(cacheExperts: Int, numExperts: Int) -> Int {
        self == .resident ? numExperts : min(cacheExperts, numExperts)
    }

    /// The policy of one layer.
    /// - Parameters:
    ///   - capacity: the layer's slots.
    ///   - future: the layer's distinct experts per step for the whole run (`optimal` needs it).
    /// - Throws: `OffloadingError.needsRecordedRouting` for `optimal` without `future`.
    public func makePolicy(capacity: Int, future: [[Int]]?) throws -> CachePolicy {
        switch self {
        case .resident: return ResidentPolicy()
        case .lru: return LRUPolicy()
        case .lfu: return LFUPolicy()
        case .staticPrompt: return StaticPolicy(capacity: capacity)
        case .lruPrefetch(let settings): return PrefetchingLRUPolicy(settings: settings)
        case .optimal:
            guard let future else { throw OffloadingError.needsRecordedRouting(policy: description) }
            return OptimalPolicy(future: future)
        case .cpuCompute, .cheaper: return CPUComputePolicy()
        }
    }
}
