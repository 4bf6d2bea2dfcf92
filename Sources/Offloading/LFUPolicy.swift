/// `lfu`: evict the expert used least often so far in the run (counts survive eviction), ties to the least
/// recently used.
public final class LFUPolicy: CachePolicy {
    private var uses: [Int: Int] = [:]
    private var recency = RecencyTracker()

    public init() {}

    public func accessed(_ expert: Int, step: Int) {
        uses[expert, default: 0] += 1
        recency.touch(expert)
    }

    public func victim(for incoming: Int, among candidates: [Int], step: Int) -> Int? {
        candidates.min { (uses[$0] ?? 0, recency.stamp($0)) < (uses[$1] ?? 0, recency.stamp($1)) }
    }
}
