import Tracing

/// Replays routing decisions through the expert cache (`ExpertCache`, the same decisions the real engine
/// carries out) on a simulated clock. It never touches the model's numbers: the engine computes with
/// every weight resident; this says what an offloading engine would have hit, read, prefetched and
/// evicted, and what that would have cost on the hardware.
///
/// Feed it `LayerStep`s in engine order (live through `RoutingRecorder`, or from a `RecordedRun`) and call
/// `finishForward()` after each forward call.
///
/// The clock follows the real engine (`DiskExpertProvider`), with `CostModel`'s formulas:
/// - A layer's attention and router run first; then the step's reads queue on one link (the engine's one
///   I/O thread), each starting when the link is free: its demand reads — into slots and into the
///   transient buffers — in ascending expert index (the order the experts run), then its prefetches for
///   later layers. They are queued in that order, each as soon as it can be: a read into a slot at once,
///   a transient read when one of the `RAMBudget.transientBuffers` (two) buffers is free; a read behind a
///   transient read that waits for a buffer waits with it.
/// - The experts run one after another in ascending expert index (as `MixtralModel.mixtureOfExperts`
///   asks for them); each starts when the previous one finished and its own read (demand or prefetch) has
///   arrived — the wait is a stall. A transient expert's buffer is freed when the next expert is asked
///   for (its compute has finished), and the reads waiting for a buffer are queued then.
/// - Every read queued is reported to `onReadQueued` with the number of the step's experts the forward
///   pass had asked for by then: the real engine reports the same (`DiskExpertProvider.onReadQueued`),
///   and on the same routing both report the same reads in the same order at the same points.
/// - A prefetch used by its step but not arrived when the step's router finished is *late* (it still
///   counts as a prefetch hit); a prefetched expert evicted before its transfer would have started is
///   *not read* (the real engine skips such a read; the simulated link still carries it).
/// - `cpu-compute`: a miss is not read; the host CPU computes it in its turn (`CostModel.hostExpertUs`),
///   one after another with the fast tier's experts, as llama.cpp runs a graph split between devices.
///   `cheaper`: the same, for each miss the profile says is cheaper on the host (`CostModel.hostIsCheaper`);
///   the others are read through the transient buffer as any transient miss.
public final class OffloadingSimulator {
    public let policy: PolicySpec
    public let cost: CostModel
    /// The decisions, shared in kind with the real engine.
    private let cache: ExpertCache
    private let sinks: [TraceSink]
    /// Per layer: expert → simulated start and end of the transfer that brought it (absent: resident from the start).
    private var arrivals: [[Int: Arrival]]
    private var nowUs = 0.0
    private var linkFreeUs = 0.0
    private var callStartUs = 0.0
    private var callStallUs = 0.0
    private var callPhase: Phase?
    public private(set) var summary: OffloadingSummary
    /// Called for every read as it is queued on the link, in order.
    public var onReadQueued: ((QueuedRead) -> Void)?

    /// A read the step decided, before it is queued on the link; `record` is the token whose record it is charged to.
    private struct PlannedRead {
        var layer: Int
        var expert: Int
        var kind: QueuedRead.Kind
        var record: Int
    }

    /// The transfer that brought a resident expert, on the simulated clock.
    private struct Arrival {
        var startUs: Double
        var endUs: Double
        var prefetch: Bool
    }

    /// - Parameters:
    ///   - policy: the cache policy.
    ///   - slots: slots of each MoE layer `[numLayers]` (`resident` ignores them).
    ///   - cost: hardware profile and model sizes.
    ///   - future: `[layer][step][experts]`, the whole run's distinct experts (for `optimal`; nil otherwise).
    ///   - sinks: trace writers receiving a `LayerRecord` per token × layer (none: nothing is recorded).
    /// - Throws: `OffloadingError.needsRecordedRouting` for `optimal` without `future`; `.noHostCPU` for
    ///   `cpu-compute` on a profile without a host CPU.
    public init(policy: PolicySpec, slots: [Int], cost: CostModel, future: [[[Int]]]? = nil,
                sinks: [TraceSink] = []) throws {
        let f = cost.footprint
        try Self.check(policy, runsOn: cost)
        precondition(slots.count == f.numLayers, "OffloadingSimulator: \(slots.count) slot counts for \(f.numLayers) layers")
        self.policy = policy
        self.cost = cost
        self.sinks = sinks
        cache = try ExpertCache(policy: policy, capacities: slots, numExperts: f.numExperts, topK: f.topK, future: future)
        arrivals = Array(repeating: [:], count: f.numLayers)
        let capacities = cache.capacities
        summary = OffloadingSummary(policy: policy.description, slots: capacities, cacheBytes: f.cacheBytes(slots: capacities),
                                    hardware: cost.hardware.name)
        summary.assumptions = cost.assumptions
    }

    /// Refuses a policy the machine cannot run: one that computes misses on the host CPU (`cpu-compute`,
    /// `cheaper`) on a profile without one. Commands call it before they open any output file.
    /// - Throws: `OffloadingError.noHostCPU` naming the policy and the profile.
    public static func check(_ policy: PolicySpec, runsOn cost: CostModel) throws {
        if policy.computesMissesOnHost && cost.hostExpertUs(layer: 0, expert: 0, rows: 1) == nil {
            throw OffloadingError.noHostCPU(hardware: cost.hardware.name, policy: policy.description)
        }
    }

    /// The same number of slots, `cacheExperts`, in every MoE layer.
    public convenience init(policy: PolicySpec, cacheExperts: Int, cost: CostModel, future: [[[Int]]]? = nil,
                            sinks: [TraceSink] = []) throws {
        try self.init(policy: policy, slots: Array(repeating: cacheExperts, count: cost.footprint.numLayers), cost: cost,
                      future: future, sinks: sinks)
    }

    /// Simulates one layer of one forward call; returns the cache's decisions.
    @discardableResult
    public func process(_ step: LayerStep) -> CacheStep {
        let l = step.layer
        if callPhase == nil {
            callPhase = step.phase
            callStartUs = nowUs
        }
        let n = step.tokens.count
        var records = step.tokens.map { token in
            LayerRecord(position: token.position, layer: l, phase: step.phase, routerLogits: token.routerLogits,
                        experts: token.experts, weights: token.weights)
        }
        // who uses what first; rows per expert
        var firstUser: [Int: Int] = [:]
        var rows: [Int: Int] = [:]
        for (t, token) in step.tokens.enumerated() {
            for e in token.experts {
                if firstUser[e] == nil { firstUser[e] = t } else { records[t].shared.append(e) }
                rows[e, default: 0] += 1
            }
        }
        let decision = cache.step(layer: l, phase: step.phase, tokens: step.tokens.map(\.experts),
                                  lookaheadLogits: step.tokens[0].lookaheadLogits)

        let layerStartUs = nowUs
        let attentionUs = cost.attentionUs(layer: l, tokens: n)
        let routerUs = layerStartUs + attentionUs
        var transfers: [TransferRecord] = []
        var transient: Set<Int> = []
        var demand: [PlannedRead] = [], prefetches: [PlannedRead] = []
        for event in decision.events {
            switch event {
            case .prefetchUsed(let e):
                records[firstUser[e]!].prefetchHits.append(e)
                summary.prefetchHits += 1
                if let arrival = arrivals[l][e], arrival.endUs > routerUs { summary.prefetchesLate += 1 }
            case .prefetchWasted:
                summary.prefetchWasted += 1
            case .hit(let e):
                records[firstUser[e]!].hits.append(e)
            case .miss(let e, let eviction):
                let t = firstUser[e]!
                if let eviction {
                    evict(eviction, layer: l, atUs: routerUs)
                    records[t].evicted.append(eviction.expert)
                }
                demand.append(PlannedRead(layer: l, expert: e, kind: .slot, record: t))
                records[t].misses.append(e)
            case .transientMiss(let e):
                transient.insert(e)
                records[firstUser[e]!].misses.append(e)
                if onHost(layer: l, expert: e, rows: rows[e]!) {
                    summary.hostComputed += 1
                } else {
                    summary.transientMisses += 1
                    demand.append(PlannedRead(layer: l, expert: e, kind: .transient, record: firstUser[e]!))
                }
            case .prefetch(let target, let e, let eviction):
                if let eviction {
                    evict(eviction, layer: target, atUs: routerUs)
                    records[0].prefetchEvicted.append(LayerExpert(layer: target, expert: eviction.expert))
                }
                prefetches.append(PlannedRead(layer: target, expert: e, kind: .prefetch, record: 0))
                records[0].prefetched.append(LayerExpert(layer: target, expert: e))
                summary.prefetched += 1
            }
        }

        // the reads, queued in plan order as the engine queues them (see the type's description)
        let plan = demand.sorted { $0.expert < $1.expert } + prefetches
        var queued = 0, freeBuffers = RAMBudget.transientBuffers, expertsAsked = 0
        var transientArrivals: [Int: Double] = [:]
        func queueReads(atUs now: Double) {
            while queued < plan.count {
                let read = plan[queued]
                if read.kind == .transient {
                    guard freeBuffers > 0 else { return }
                    freeBuffers -= 1
                }
                let transfer = enqueueTransfer(expert: read.expert, layer: read.layer, kind: read.kind == .prefetch ? .prefetch : .demand,
                                               notBeforeUs: now)
                transfers.append(transfer)
                let endUs = transfer.startUs + transfer.durationUs
                if read.kind == .transient {
                    transientArrivals[read.expert] = endUs
                } else {
                    arrivals[read.layer][read.expert] = Arrival(startUs: transfer.startUs, endUs: endUs, prefetch: read.kind == .prefetch)
                }
                records[read.record].bytesMoved += transfer.bytes
                records[read.record].transferUs += transfer.durationUs
                onReadQueued?(QueuedRead(layer: read.layer, expert: read.expert, kind: read.kind, afterExperts: expertsAsked))
                queued += 1
            }
        }
        queueReads(atUs: routerUs)

        // the experts, in ascending index, each once its weights are in
        var clockUs = routerUs, stallUs = 0.0
        var heldBuffer = false
        for e in decision.distinct.sorted() {
            // asking for the next expert frees the previous one's transient buffer, and queues what waited for it
            if heldBuffer {
                freeBuffers += 1
                heldBuffer = false
            }
            queueReads(atUs: clockUs)
            expertsAsked += 1
            if transient.contains(e), onHost(layer: l, expert: e, rows: rows[e]!) {
                clockUs += cost.hostExpertUs(layer: l, expert: e, rows: rows[e]!)!
                continue
            }
            let readyUs = transient.contains(e) ? transientArrivals[e]! : arrivals[l][e]?.endUs ?? 0
            heldBuffer = transient.contains(e)
            stallUs += max(0, readyUs - clockUs)
            clockUs = max(clockUs, readyUs) + cost.expertUs(layer: l, expert: e, rows: rows[e]!)
        }
        precondition(queued == plan.count, "OffloadingSimulator: reads left unqueued after the layer's last expert")
        let expertsUs = clockUs - routerUs - stallUs
        nowUs = clockUs
        callStallUs += stallUs

        summary.hits += decision.hits.count
        summary.misses += decision.misses.count
        summary.evictions += decision.evictions.count
        summary.prefetchCancelled += decision.evictions.filter(\.unusedPrefetch).count
        summary.stallUs += stallUs
        if step.phase == .decode {
            summary.decodeHits += decision.hits.count
            summary.decodeMisses += decision.misses.count
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
        return decision
    }

    /// A transient miss of `layer`'s `expert` on `rows` tokens is computed by the host CPU: always under
    /// `cpu-compute`, when the profile says it is cheaper under `cheaper`, never otherwise.
    private func onHost(layer: Int, expert: Int, rows: Int) -> Bool {
        switch policy {
        case .cpuCompute: return true
        case .cheaper: return cost.hostIsCheaper(layer: layer, expert: expert, rows: rows) ?? false
        default: return false
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

    /// Forgets an evicted expert's transfer; a prefetch whose transfer had not started by `atUs` is counted
    /// as not read.
    private func evict(_ eviction: Eviction, layer: Int, atUs: Double) {
        let arrival = arrivals[layer].removeValue(forKey: eviction.expert)
        if let arrival, arrival.prefetch, arrival.startUs > atUs { summary.prefetchesNotRead += 1 }
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
}
