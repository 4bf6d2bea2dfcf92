/// The slots of one MoE layer as the expert cache sees them: which experts are resident and which arrived
/// by prefetch and wait for their first use. Changed only by `ExpertCache.step`.
struct LayerCache {
    let capacity: Int
    let policy: CachePolicy
    /// Resident experts (at most `capacity`).
    private(set) var resident: Set<Int>
    /// Experts prefetched for this layer's next step and not used yet.
    var prefetchedUnused: Set<Int> = []

    init(capacity: Int, policy: CachePolicy, numExperts: Int) {
        self.capacity = capacity
        self.policy = policy
        resident = Set(policy.initialResidents(numExperts: numExperts).prefix(capacity))
    }

    func contains(_ expert: Int) -> Bool { resident.contains(expert) }

    /// What happened when an expert asked for a slot.
    struct Admission {
        /// Whether the expert is now resident (false: used from the transient buffer and dropped).
        var stored: Bool
        var evicted: Eviction?
    }

    /// Stores `expert` (not resident), evicting the policy's victim when the cache is full.
    /// - Parameter protecting: residents that may not be evicted now.
    mutating func admit(_ expert: Int, step: Int, protecting: Set<Int>) -> Admission {
        if resident.count < capacity {
            resident.insert(expert)
            return Admission(stored: true, evicted: nil)
        }
        let candidates = resident.filter { !protecting.contains($0) }.sorted()
        guard !candidates.isEmpty, let victim = policy.victim(for: expert, among: candidates, step: step) else {
            return Admission(stored: false, evicted: nil)
        }
        precondition(candidates.contains(victim), "policy chose expert \(victim), not a candidate")
        resident.remove(victim)
        let cancelled = prefetchedUnused.remove(victim) != nil
        resident.insert(expert)
        return Admission(stored: true, evicted: Eviction(expert: victim, unusedPrefetch: cancelled))
    }
}
