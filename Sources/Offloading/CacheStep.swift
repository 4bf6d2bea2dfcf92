import Foundation
import Engine
import Tracing

/// How a read that needs a slot got one: a free slot, or one emptied by evicting a resident expert.
public struct Eviction: Sendable, Equatable, Hashable {
    /// The expert that left the slot.
    public var expert: Int
    /// It was prefetched for a step that has not come yet and never used: the prefetch is cancelled.
    public var unusedPrefetch: Bool

    public init(expert: Int, unusedPrefetch: Bool) {
        self.expert = expert
        self.unusedPrefetch = unusedPrefetch
    }
}

/// One decision of the expert cache at one MoE layer's forward call, in the order they are made.
public enum CacheEvent: Sendable, Equatable, Hashable {
    /// An expert prefetched into this layer for this step was used by it (a prefetch hit; also a `hit`).
    case prefetchUsed(expert: Int)
    /// An expert prefetched into this layer for this step was not used by it (a wasted prefetch; it stays
    /// resident like any other).
    case prefetchWasted(expert: Int)
    /// A distinct expert of the step found resident.
    case hit(expert: Int)
    /// A distinct expert of the step not resident, read into a slot of this layer (`evicting` nil: a free one).
    case miss(expert: Int, evicting: Eviction?)
    /// A distinct expert of the step not resident and not stored — no slot could be freed (every resident
    /// expert belongs to the step, or the policy keeps them) or the policy declined: read into the
    /// transient buffer, used once and dropped.
    case transientMiss(expert: Int)
    /// A speculative read of `expert` into a slot of the later layer `layer` (decode; and a long prefill's
    /// next layer).
    case prefetch(layer: Int, expert: Int, evicting: Eviction?)
}

/// What the expert cache decided for one MoE layer of one forward call (a *step*): a plain value that the
/// simulator (`OffloadingSimulator`, which adds the clock) and the real engine (`DiskExpertProvider`,
/// which adds the reads) both carry out, so the two cannot disagree about hits, misses or evictions.
public struct CacheStep: Sendable, Equatable {
    public var layer: Int
    /// 0 for the prefill, then one per decoded token, counted per layer.
    public var index: Int
    public var phase: Phase
    /// The distinct experts of the step in order of first use (by token, then best first).
    public var distinct: [Int]
    public var events: [CacheEvent]

    /// Experts found resident, in order.
    public var hits: [Int] { events.compactMap { if case .hit(let e) = $0 { return e } else { return nil } } }
    /// Experts read on demand (into a slot or the transient buffer), in order.
    public var misses: [Int] {
        events.compactMap {
            switch $0 {
            case .miss(let e, _), .transientMiss(let e): return e
            default: return nil
            }
        }
    }
    /// Misses read through the transient buffer.
    public var transientMisses: [Int] { events.compactMap { if case .transientMiss(let e) = $0 { return e } else { return nil } } }
    /// Prefetch hits: experts prefetched for this step and used by it.
    public var prefetchHits: [Int] { events.compactMap { if case .prefetchUsed(let e) = $0 { return e } else { return nil } } }
    /// Experts prefetched for this step and not used.
    public var prefetchesWasted: [Int] { events.compactMap { if case .prefetchWasted(let e) = $0 { return e } else { return nil } } }
    /// Experts evicted from this layer's slots for this step's misses.
    public var evicted: [Int] {
        events.compactMap { if case .miss(_, let eviction?) = $0 { return eviction.expert } else { return nil } }
    }
    /// Speculative reads this step issued for later layers.
    public var prefetched: [LayerExpert] {
        events.compactMap { if case .prefetch(let l, let e, _) = $0 { return LayerExpert(layer: l, expert: e) } else { return nil } }
    }
    /// Every eviction of the step (for its misses and its prefetches).
    public var evictions: [Eviction] {
        events.compactMap {
            switch $0 {
            case .miss(_, let eviction?), .prefetch(_, _, let eviction?): return eviction
            default: return nil
            }
        }
    }
}

/// The expert caches of every MoE layer: which experts each layer's slots hold, which of them arrived by
/// prefetch and wait for their first use, and each layer's policy. `step` makes every decision of one
/// layer's forward call; nothing else changes the caches.
///
/// Rules (Eliseev & Mazur 2023, section 3, with the constraints of a real engine holding experts in slots):
/// - Per layer and forward call, every distinct expert the call's tokens route to is accessed once, in
///   order of first use: hits first, then misses. So an expert is read at most once per layer per call.
/// - A miss is stored in a slot: a free one, else the one of the policy's victim. An expert of the step
///   is never evicted for another expert of the same step (both are needed now). A miss finding no
///   evictable slot (fewer slots than the step's experts, e.g. fewer slots than top-k or a prefill with
///   many experts), or one the policy declines to store, goes through the transient buffer.
/// - Prefetched experts waiting for this step are resolved first: used by the step (a prefetch hit, also
///   counted as a hit) or not (wasted; the expert stays resident).
/// - Prefill prefetch (policies with `prefetch`): a prefill of at least `prefillPrefetchTokens(numExperts:
///   topK:)` tokens (17 for top-2 of 8) will use every expert of the next layer, so it stores that layer's
///   first `experts` (at most its slots) not resident — experts 0, 1, … in the order its forward pass runs
///   them — admitted as any prefetch, so that their reads follow this layer's and run while it computes.
/// - Speculative prefetch (policies with `prefetch`, decode steps): the routers of layers
///   L+1 … L+lookahead, applied to layer L's router input, guess their top-m experts (m at most the target
///   layer's slots); each guess not resident is stored in the target layer, never evicting another guess of
///   the same target in this step; a guess the policy will not store is skipped. Evicting a prefetched
///   expert not used yet cancels that prefetch.
public final class ExpertCache {
    public let policy: PolicySpec
    /// Slots of each MoE layer.
    public let capacities: [Int]
    private var layers: [LayerCache]
    private var steps: [Int]
    /// The fewest tokens of a prefill that prefetches the next layer's first experts (`prefillPrefetchTokens(numExperts:topK:)`).
    private let prefillPrefetchTokens: Int

    /// - Parameters:
    ///   - capacities: slots per layer (`resident` holds every expert whatever is given).
    ///   - topK: experts per token (the prefill prefetch's rule needs it).
    ///   - future: `[layer][step][experts]`, the whole run's distinct experts (for `optimal`; nil otherwise).
    /// - Throws: `OffloadingError.needsRecordedRouting` for `optimal` without `future`.
    public init(policy: PolicySpec, capacities: [Int], numExperts: Int, topK: Int, future: [[[Int]]]? = nil) throws {
        self.policy = policy
        let slots = capacities.map { policy.capacity(cacheExperts: $0, numExperts: numExperts) }
        self.capacities = slots
        layers = try slots.enumerated().map { l, capacity in
            LayerCache(capacity: capacity, policy: try policy.makePolicy(capacity: capacity, future: future?[l]),
                       numExperts: numExperts)
        }
        steps = Array(repeating: 0, count: slots.count)
        prefillPrefetchTokens = Self.prefillPrefetchTokens(numExperts: numExperts, topK: topK)
    }

    /// The rule for prefetching in a prefill: a prompt of n tokens, each routed to `topK` of `numExperts`
    /// experts, leaves a given expert of a layer unused with probability (1 − topK/numExperts)ⁿ when the
    /// routing is uniform; from the smallest n that makes this at most 1 % on, the next layer is taken to
    /// need every expert (17 tokens for Mixtral's top-2 of 8: 0.75¹⁷ = 0.75 %).
    public static func prefillPrefetchTokens(numExperts: Int, topK: Int) -> Int {
        guard topK < numExperts else { return 1 }
        return Int((log(0.01) / log(1 - Double(topK) / Double(numExperts))).rounded(.up))
    }

    /// Experts resident in `layer`'s slots now (before the first step: the policy's initial residents).
    public func residents(layer: Int) -> Set<Int> { layers[layer].resident }

    /// Decides one layer's forward call.
    /// - Parameters:
    ///   - tokens: each token's chosen experts `[tokens][topK]`, best first.
    ///   - lookaheadLogits: speculative router logits of layers L+1, L+2 … for the call's (first) token,
    ///     `[depth][numExperts]` (used by prefetching policies at decode steps; may be empty otherwise).
    public func step(layer l: Int, phase: Phase, tokens: [[Int]], lookaheadLogits: [[Float]] = []) -> CacheStep {
        let index = steps[l]
        steps[l] += 1
        let policy = layers[l].policy
        var distinct: [Int] = []
        var seen = Set<Int>()
        for experts in tokens {
            policy.tokenRouted(experts, step: index)
            for e in experts where seen.insert(e).inserted { distinct.append(e) }
        }
        if phase == .prefill { policy.promptRouted() }
        var events: [CacheEvent] = []

        // prefetches waiting for this step
        for e in layers[l].prefetchedUnused.sorted() {
            events.append(seen.contains(e) ? .prefetchUsed(expert: e) : .prefetchWasted(expert: e))
        }
        layers[l].prefetchedUnused.removeAll()

        // hits, then misses, each stored in a slot or read through the transient buffer
        let misses = distinct.filter { !layers[l].contains($0) }
        for e in distinct where layers[l].contains(e) {
            policy.accessed(e, step: index)
            events.append(.hit(expert: e))
        }
        for e in misses {
            let admission = layers[l].admit(e, step: index, protecting: seen)
            policy.accessed(e, step: index)
            events.append(admission.stored ? .miss(expert: e, evicting: admission.evicted) : .transientMiss(expert: e))
        }

        // a prompt long enough to use every expert: the next layer's first experts, read while this layer computes
        if phase == .prefill, let settings = policy.prefetch, tokens.count >= prefillPrefetchTokens, l + 1 < layers.count {
            let target = l + 1
            var issued: Set<Int> = []
            for e in 0..<min(settings.experts, layers[target].capacity) where !layers[target].contains(e) {
                let admission = layers[target].admit(e, step: steps[target], protecting: issued)
                guard admission.stored else { continue }
                layers[target].prefetchedUnused.insert(e)
                issued.insert(e)
                events.append(.prefetch(layer: target, expert: e, evicting: admission.evicted))
            }
        }

        // speculative prefetch for the next layers (decode only)
        if phase == .decode, let settings = policy.prefetch {
            for (d, logits) in lookaheadLogits.prefix(settings.lookahead).enumerated() {
                let target = l + 1 + d
                guard target < layers.count else { break }
                var issued: Set<Int> = []
                for e in routeTopK(logits: logits, k: min(settings.experts, layers[target].capacity)).experts where !layers[target].contains(e) {
                    let admission = layers[target].admit(e, step: steps[target], protecting: issued)
                    guard admission.stored else { continue }
                    layers[target].prefetchedUnused.insert(e)
                    issued.insert(e)
                    events.append(.prefetch(layer: target, expert: e, evicting: admission.evicted))
                }
            }
        }
        return CacheStep(layer: l, index: index, phase: phase, distinct: distinct, events: events)
    }
}
