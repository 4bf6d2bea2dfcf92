/// `lru`: evict the least recently used expert of the layer — a hit refreshes recency. This is
/// mixtral-offloading's per-layer `ExpertCache` (src/expert_cache.py, Eliseev & Mazur 2023, section 3.1).
public final class LRUPolicy: CachePolicy {
    private var recency = RecencyTracker()

    public init() {}
    public func accessed(_ expert: Int, step: Int) { recency.touch(expert) }
    public func victim(for incoming: Int, among candidates: [Int], step: Int) -> Int? {
        recency.leastRecent(candidates)
    }
}
