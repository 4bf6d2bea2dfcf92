/// `static`: keep the experts the prompt used most. Once the prompt's routing is known, the `capacity`
/// experts with the most prompt tokens routed to them (ties to the lower index) are pinned and never
/// evicted — already during the prefill. Other experts use the unpinned slots (LRU) or, when every slot is
/// pinned, are used from a transient buffer and dropped.
public final class StaticPolicy: CachePolicy {
    private let capacity: Int
    private var promptUses: [Int: Int] = [:]
    private var inPrompt = true
    private var recency = RecencyTracker()
    /// The pinned experts (empty until the prompt is done).
    public private(set) var pinned: Set<Int> = []

    /// - Parameter capacity: slots of the layer's cache (how many experts to pin).
    public init(capacity: Int) { self.capacity = capacity }

    /// Counts prompt tokens routed to each expert.
    public func tokenRouted(_ experts: [Int], step: Int) {
        guard inPrompt else { return }
        for e in experts { promptUses[e, default: 0] += 1 }
    }

    public func accessed(_ expert: Int, step: Int) { recency.touch(expert) }

    public func victim(for incoming: Int, among candidates: [Int], step: Int) -> Int? {
        let free = candidates.filter { !pinned.contains($0) }
        return free.isEmpty ? nil : recency.leastRecent(free)
    }

    public func promptRouted() {
        guard inPrompt else { return }
        inPrompt = false
        let ranked = promptUses.sorted { ($0.value, -$0.key) > ($1.value, -$1.key) }
        pinned = Set(ranked.prefix(capacity).map(\.key))
    }
}
