/// How one MoE layer's expert cache decides what to keep. The simulator makes one instance per layer per
/// run, tells it about every access, and asks it for a victim when a fetched expert needs a slot.
///
/// A *step* is the layer's forward call: 0 is the prefill (the whole prompt), then one per decoded token.
/// A new policy is one type conforming to this protocol plus a case in `PolicySpec`.
public protocol CachePolicy: AnyObject {
    /// Experts in the cache before the first token. Default: none (a cold start).
    func initialResidents(numExperts: Int) -> [Int]
    /// One token at `step` was routed to `experts` (called for every token, before the step's accesses).
    func tokenRouted(_ experts: [Int], step: Int)
    /// `expert` was used at `step`: a hit, a prefetch hit, or just fetched (once per step, however many
    /// tokens of the step use it).
    func accessed(_ expert: Int, step: Int)
    /// The resident expert to evict so that `incoming` can be stored, chosen from `candidates` (never
    /// empty), or nil to not store `incoming`: it is then used from a transient buffer and dropped.
    func victim(for incoming: Int, among candidates: [Int], step: Int) -> Int?
    /// Called once per layer when the whole prompt's routing is known: after `tokenRouted` for every prompt
    /// token, before the prefill's accesses (a batched prefill runs the router on all tokens first).
    func promptRouted()
    /// Speculative prefetching, if this policy does it.
    var prefetch: PrefetchSettings? { get }
}

extension CachePolicy {
    public func initialResidents(numExperts: Int) -> [Int] { [] }
    public func tokenRouted(_ experts: [Int], step: Int) {}
    public func promptRouted() {}
    public var prefetch: PrefetchSettings? { nil }
}

/// Speculative prefetch (Eliseev & Mazur 2023, section 3.2): while layer L runs, apply the routers of layers
/// L+1 … L+lookahead to the hidden state entering layer L's MoE block and load each one's top-`experts`
/// guesses — at decode steps. A prefill long enough to use every expert prefetches the next layer's first
/// `experts` instead, without guessing (`ExpertCache.prefillPrefetchTokens`).
public struct PrefetchSettings: Sendable, Equatable {
    /// Guesses per layer (`--prefetch M`), 1…numExperts.
    public var experts: Int
    /// Layers ahead to guess for (`--lookahead D`), ≥ 1.
    public var lookahead: Int

    public init(experts: Int, lookahead: Int) {
        self.experts = experts
        self.lookahead = lookahead
    }
}
