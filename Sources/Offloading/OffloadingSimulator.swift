import Tracing

/// Replays routing decisions through per-layer expert caches on a simulated clock. It never touches the
/// model's numbers: the engine computes with every weight resident; this decides what *would* have been
/// hit, fetched, prefetched and evicted, and what that would have cost on the hardware.
///
/// Feed it `LayerStep`s in engine order (live through `RoutingRecorder`, or from a `RecordedRun`) and call
/// `finishForward()` after each forward call.
///
/// Rules:
/// - Each layer's cache starts empty (except `resident`, which holds everything) and has `capacity` slots.
/// - Per layer and forward call, every distinct expert the call's tokens route to is accessed once: hits
///   first, then misses in order of first use, each fetched, used, and stored (evicting the policy's
///   victim) unless the policy declines. So an expert is fetched at most once per layer per forward call.
/// - A prefill that needs more experts than the cache holds streams them through: each is fetched once for
///   the whole prompt and the cache ends holding the most recently fetched (for LRU).
/// - Prefetches (decode only) are issued when the router input of layer L is known and queue on the link
///   after layer L's demand fetches; an expert they bring is a *prefetch hit* only if it is used at the
///   step it was fetched for. Unused (wasted) or evicted-before-use (cancelled) prefetches are not hits.
public final class OffloadingSimulator {
    public let policy: PolicySpec
    public let cost: CostModel
    /// Slots per layer.
    public let capacity: Int
    private var caches: [LayerCache]
    private var sinks: [TraceSink]
    private var steps: [Int]
    private var nowUs = 0.0
    private var linkFreeUs = 0.0
    private var callStartUs = 0.0
    private var callStallUs = 0.0
    private var callPhase: Phase?
    public private(set) var summary: OffloadingSummary

    /// - Parameters:
    ///   - policy: the cache policy.
    ///   - cacheExperts: slots per MoE layer (`resident` ignores it).
    ///   - cost: hardware profile and model sizes.
    ///   - future: `[layer][step][experts]`, the whole run's distinct experts (for `optimal`; nil otherwise).
    ///   - sinks: trace writers receiving a `LayerRecord` per token × layer (none: nothing is recorded).
    /// - Throws: `OffloadingError.needsRecordedRouting` for `optimal` without `future`.
    public init(policy: PolicySpec, cacheExperts: Int, cost: CostModel, future: [[[Int]]]? = nil,
                sinks: [TraceSink] = []) throws {
        let f = cost.footprint
        self.policy = policy
        self.cost = cost
        self.sinks = sinks
        let slots = policy.capacity(cacheExperts: cacheExperts, numExperts: f.numExperts)
        capacity = slots
        caches = try (0..<f.numLayers).map { l in
            LayerCache(capacity: slots, policy: try policy.makePolicy(capacity: slots, future: future?[l]),
                       numExperts: f.numExperts)
        }
        steps = Array(repeating: 0, count: f.numLayers)
        summary = OffloadingSummary(policy: policy.description, cacheExperts: slots, cacheBytes: f.cacheBytes(slots: slots),
                                    hardware: cost.hardware.name)
        summary.assumptions = cost.assumptions
    }

    /// Simulates one layer of one forward call.
    public func process(_ step: LayerStep) {
        let l = step.layer
        let stepIndex = steps[l]
        steps[l] += 1
        if callPhase == nil {
            callPhase = step.phase
            callStartUs = nowUs
        }
        let n = step.tokens.count
        let k = cost.footprint.topK
        var records = step.tokens.map { token in
            LayerRecord(position: token.position, layer: l, phase: step.phase, routerLogits: token.routerLogits,
                        experts: token.experts, weights: token.weights)
        }

        // who uses what first
        let distinct = step.distinctExperts
        var firstUser: [Int: Int] = [:]
        for (t, token) in step.tokens.enumerated() {
            for e in token.experts {
                if firstUser[e] == nil { firstUser[e] = t } else { records[t].shared.append(e) }
            }
            caches[l].policy.tokenRouted(token.experts, step: stepIndex)
        }
        if step.phase == .prefill { caches[l].policy.promptRouted() }

        // resolve prefetches waiting for this step
        let hits = distinct.filter { caches[l].contains($0) }
        let misses = distinct.filter { !caches[l].contains($0) }
        for e in caches[l].prefetchedUnused {
            if let t = firstUser[e] {
                records[t].prefetchHits.append(e)
                summary.prefetchHits += 1
            } else {
                summary.prefetchWasted += 1
            }
        }
        caches[l].prefetchedUnused.removeAll()

        // compute and transfers on the clock
        let layerStartUs = nowUs
        let attentionUs = cost.attentionUs(layer: l, tokens: n)
        let routerUs = layerStartUs + attentionUs
        var readyUs = routerUs
        var transfers: [TransferRecord] = []
        for e in hits {
            caches[l].policy.accessed(e, step: stepIndex)
            records[firstUser[e]!].hits.append(e)
            readyUs = max(readyUs, caches[l].readyAtUs[e] ?? 0)
        }
        for e in misses {
            let t = firstUser[e]!
            let transfer = enqueueTransfer(expert: e, layer: l, kind: .demand, notBeforeUs: routerUs)
            transfers.append(transfer)
            records[t].misses.append(e)
            records[t].bytesMoved += transfer.bytes
            records[t].transferUs += transfer.durationUs
            let admission = caches[l].admit(e, step: stepIndex)
            caches[l].policy.accessed(e, step: stepIndex)
            if admission.stored { caches[l].readyAtUs[e] = transfer.startUs + transfer.durationUs }
            if let evicted = admission.evicted {
                records[t].evicted.append(evicted)
                summary.evictions += 1
            }
            readyUs = max(readyUs, transfer.startUs + transfer.durationUs)
        }

        // speculative prefetch for the next layers (decode only), issued once the router input is known
        if step.phase == .decode, let settings = caches[l].policy.prefetch {
            for (d, logits) in step.tokens[0].lookaheadLogits.prefix(settings.lookahead).enumerated() {
                let target = l + 1 + d
                guard target < caches.count else { break }
                var issued: Set<Int> = []
                for e in topExperts(logits, count: min(settings.experts, caches[target].capacity))
                where !caches[target].contains(e) {
                    let admission = caches[target].admit(e, step: steps[target], protecting: issued)
                    guard admission.stored else { continue }
                    if let evicted = admission.evicted {
                        summary.evictions += 1
                        if admission.cancelledPrefetch { summary.prefetchCancelled += 1 }
                        records[0].prefetchEvicted.append(LayerExpert(layer: target, expert: evicted))
                    }
                    let transfer = enqueueTransfer(expert: e, layer: target, kind: .prefetch, notBeforeUs: routerUs)
                    transfers.append(transfer)
                    caches[target].readyAtUs[e] = transfer.startUs + transfer.durationUs
                    caches[target].prefetchedUnused.insert(e)
                    issued.insert(e)
                    records[0].prefetched.append(LayerExpert(layer: target, expert: e))
                    records[0].bytesMoved += transfer.bytes
                    records[0].transferUs += transfer.durationUs
                    summary.prefetched += 1
                }
            }
        }

        let stallUs = readyUs - routerUs
        let expertsUs = cost.expertsUs(layer: l, experts: distinct, rows: n * k)
        nowUs = readyUs + expertsUs
        callStallUs += stallUs

        summary.hits += hits.count
        summary.misses += misses.count
        summary.stallUs += stallUs
        if step.phase == .decode {
            summary.decodeHits += hits.count
            summary.decodeMisses += misses.count
        }
        for t in records.indices {
            records[t].computeUs = (attentionUs + expertsUs) / Double(n)
            records[t].stallUs = stallUs / Double(n)
        }
        records[0].timeline = LayerTimeline(startUs: layerStartUs, attentionUs: attentionUs, stallUs: stallUs,
                                            expertsUs: expertsUs, transfers: transfers)
        for record in records {
            for sink in sinks { sink.write(record) }
        }
    }

    /// Ends a forward call: adds the LM head and returns the call's simulated cost.
    @discardableResult
    public func finishForward() -> ForwardCost {
        nowUs += cost.headUs
        let phase = callPhase ?? .decode
        let result = ForwardCost(phase: phase, latencyUs: nowUs - callStartUs, stallUs: callStallUs, endUs: nowUs)
        switch phase {
        case .prefill: summary.prefillUs += result.latencyUs
        case .decode:
            summary.decodeTokens += 1
            summary.decodeUs += result.latencyUs
            summary.decodeStallUs += callStallUs
        }
        callPhase = nil
        callStallUs = 0
        callStartUs = nowUs
        summary.finalize()
        return result
    }

    /// Puts a transfer on the link: it starts when the link is free, not before `notBeforeUs`.
    private func enqueueTransfer(expert: Int, layer: Int, kind: TransferRecord.Kind, notBeforeUs: Double) -> TransferRecord {
        let bytes = cost.footprint.expertBytes[layer][expert]
        let start = max(notBeforeUs, linkFreeUs)
        let duration = cost.transferUs(bytes: bytes)
        linkFreeUs = start + duration
        summary.bytesTransferred += bytes
        return TransferRecord(expert: expert, layer: layer, kind: kind, bytes: bytes, startUs: start, durationUs: duration)
    }

    /// The `count` largest logits' indices, best first (ties to the lower index) — the speculative top-m.
    private func topExperts(_ logits: [Float], count: Int) -> [Int] {
        Array(logits.indices.sorted { (logits[$0], -$0) > (logits[$1], -$1) }.prefix(count))
    }
}
