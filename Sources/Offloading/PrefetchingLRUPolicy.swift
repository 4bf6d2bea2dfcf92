/// `lru+prefetch`: LRU eviction plus speculative prefetch of the next layers' guessed experts
/// (Eliseev & Mazur 2023, section 3.2). The simulator issues the prefetches; this type carries the settings.
public final class PrefetchingLRUPolicy: CachePolicy {
    private let lru = LRUPolicy()
    public let prefetch: PrefetchSettings?

    public init(settings: PrefetchSettings) { prefetch = settings }
    public func accessed(_ expert: Int, step: Int) { lru.accessed(expert, step: step) }
    public func victim(for incoming: Int, among candidates: [Int], step: Int) -> Int? {
        lru.victim(for: incoming, among: candidates, step: step)
    }
}
