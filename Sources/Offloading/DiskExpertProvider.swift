import Foundation
import Engine
import Tracing

/// Real offloading: streams a model's experts from disk into a fixed pool of preallocated slots per MoE
/// layer (Eliseev & Mazur 2023, section 3). Every decision — hits, misses, what is stored or evicted,
/// what is prefetched — is `ExpertCache.step`'s, the same the simulator (`OffloadingSimulator`) makes on
/// the same routing; this type carries them out with reads:
/// - A miss stored in a slot is read into it (the evicted expert's slot, or a free one); a transient miss
///   is read into one of two transient buffers, used once, and dropped.
/// - Reads run in order (`ReadQueue`: started one after another, the next one's chunks queued behind the
///   last chunks of the one before, so the disk does not wait between them): the layer's demand reads in the order the forward
///   pass uses the experts (ascending expert index, `ExpertProvider`), then its prefetches for later layers
///   (`lru+prefetch`: at decode steps the guessed experts of the next layers; in a prefill of enough tokens
///   to use every expert, the next layer's first experts, `ExpertCache.prefillPrefetchTokens`). So while
///   expert e computes, the next one is being read: a prefill that needs every expert of a layer reads each
///   once and computes it while the next is read, and the next layer's first experts are read while this
///   layer's last ones compute and the next layer's attention runs. The two
///   transient buffers alternate — one used by the compute, the next transient expert read into the
///   other — and a transient read waits for a buffer only when both are taken (the compute is behind).
///   The forward pass waits for an expert's read when it needs that expert (a stall).
/// - What the engine does that the decisions cannot see is counted under its own name: a prefetch used
///   before its read finished (`prefetchesLate`), a prefetched expert evicted before its read started,
///   whose read is then skipped (`prefetchesNotRead`).
/// - Expert reads bypass the page cache (`O_DIRECT`, `ExpertFile`) where the file system allows; otherwise
///   each read's pages are dropped from it right after the read (`posix_fadvise DONTNEED`). The experts'
///   pages are dropped once at the start, so the measured read times are the disk's. Only the experts'
///   byte ranges are dropped: a GGUF read in place also holds the resident tensors, whose pages the model
///   is reading at the same time (`adviseWillNeedAllButExperts`) — dropping them re-read them from the disk.
///
/// - The slots' memory is faulted in on a thread of its own from the first routed layer on (`SlotPrefault`),
///   in the order the prefill fills them, so the reader threads take fewer of the ~4 million page faults of a
///   16 GiB budget between their reads (the prefill's reads took 20–40 % less time in an A/B on the full-size
///   file; with both cores busy the thread falls behind and the readers still take about half: README).
///
/// A model may run one forward pass at a time on a provider; `allocateSlots` must be called before it runs.
// @unchecked Sendable: bookkeeping used by one forward pass at a time; the I/O thread only fills a queued read's slot (awaited via its `ReadJob`).
public final class DiskExpertProvider: ExpertProvider, @unchecked Sendable {
    public let policy: PolicySpec
    public let source: ExpertSource
    /// Slots of each MoE layer (empty until `allocateSlots`).
    public private(set) var slots = LayerSlots([])
    /// Called when a layer step's reads are all finished: (layer, phase, first position of the call, reads).
    public var onStep: ((Int, Phase, Int, RealReads) -> Void)?
    /// Called for every read as it is queued on the I/O thread, in order (the simulator reports the same).
    public var onReadQueued: ((QueuedRead) -> Void)?
    /// How the page cache is kept out of the measurements, in words.
    public let pageCache: String

    private let numExperts: Int
    private let topK: Int
    private var cache: ExpertCache?
    private var pool: [[ExpertSlot]] = []
    /// Per layer: expert → index of its slot.
    private var slotOf: [[Int: Int]] = []
    private var freeSlots: [[Int]] = []
    /// The two transient buffers, and which of them are free.
    private var transients: [ExpertSlot] = []
    private var freeTransients: [Int] = []
    /// Transient reads of the layer being computed: expert → (buffer, read).
    private var transientReads: [Int: (buffer: Int, job: ReadJob)] = [:]
    /// The transient buffer handed to the forward pass last, freed at its next call.
    private var heldTransient: Int?
    /// The current layer's reads in the order they are queued on the I/O thread, and how many are queued.
    private var plan: [PlannedRead] = []
    private var planIssued = 0
    /// Experts of the current layer step the forward pass has asked for.
    private var expertsAsked = 0
    /// Per layer: expert → the read filling its slot, until the forward pass has waited for it.
    private var pending: [[Int: ReadJob]] = []
    /// Per layer: the prefetched experts the open step uses (a read not finished when asked for is late).
    private var prefetchesUsed: [Set<Int>]
    /// Per layer: the step under way, closed when the layer's next step begins or at `finish()`.
    private var openSteps: [OpenStep?]
    private var totals: DiskOffloadingSummary
    private let reads = ReadQueue()
    /// Faults in the slots' memory ahead of their first reads (`SlotPrefault`), from the first `layerRouted` on.
    private var prefault: SlotPrefault?

    /// A read decided at `layerRouted`: into a slot already claimed (`slot`), or (nil) a transient buffer.
    private struct PlannedRead {
        var layer: Int
        var expert: Int
        var slot: Int?
    }

    private struct OpenStep {
        var phase: Phase
        var firstPosition: Int
        var reads = RealReads()
        /// Every read this step issued (demand, transient and prefetch), accounted when the step closes.
        var jobs: [ReadJob] = []
    }

    /// - Parameters:
    ///   - source: where the experts are on disk.
    ///   - policy: the cache policy of every layer.
    ///   - topK: experts per token.
    /// - Throws: `ExpertStoreError.policyNeedsRecordedRouting` for `optimal`.
    public init(source: ExpertSource, policy: PolicySpec, topK: Int) throws {
        guard policy != .optimal else { throw ExpertStoreError.policyNeedsRecordedRouting(policy: policy.description) }
        self.source = source
        self.policy = policy
        self.topK = topK
        numExperts = source.numExperts
        prefetchesUsed = Array(repeating: [], count: source.numLayers)
        openSteps = Array(repeating: nil, count: source.numLayers)
        for file in source.files { file.dropsPagesAfterRead = true }
        source.dropExpertPages()
        let direct = source.files.allSatisfy { file in source.layout.projections.allSatisfy { file.readsDirect(bytes: $0.byteCount) } }
        pageCache = direct
            ? "expert reads bypass it (O_DIRECT); the experts' bytes dropped from it at start"
            : "posix_fadvise(DONTNEED) on the experts' bytes at start and after every read"
        totals = DiskOffloadingSummary(policy: policy.description, slots: [], source: source.description, pageCache: pageCache)
    }

    public func expertBytes(layer: Int) -> [Int] { Array(repeating: source.layout.byteCount, count: numExperts) }

    /// Bytes of one slot (one expert at the run's layout).
    public var slotBytes: Int { source.layout.byteCount }

    /// Allocates the slots of every layer (`slots.counts[l]` in layer l) plus the two transient buffers, and
    /// starts every layer's policy with an empty cache (`resident` reads all its experts now).
    /// - Throws: read errors for `resident`'s initial experts.
    public func allocateSlots(_ slots: LayerSlots) throws {
        precondition(slots.counts.count == source.numLayers, "DiskExpertProvider: \(slots.counts.count) slot counts for \(source.numLayers) layers")
        let cache = try ExpertCache(policy: policy, capacities: slots.counts, numExperts: numExperts, topK: topK)
        self.cache = cache
        self.slots = LayerSlots(cache.capacities)
        totals.slotsPerLayer = self.slots.fewest
        totals.extraSlotLayers = self.slots.layersWithMore
        pool = cache.capacities.map { capacity in (0..<capacity).map { _ in ExpertSlot(layout: source.layout) } }
        transients = (0..<RAMBudget.transientBuffers).map { _ in ExpertSlot(layout: source.layout) }
        freeTransients = Array(transients.indices.reversed())
        slotOf = Array(repeating: [:], count: source.numLayers)
        freeSlots = cache.capacities.map { Array((0..<$0).reversed()) }
        pending = Array(repeating: [:], count: source.numLayers)
        prefault?.cancel()
        prefault = nil
        for l in 0..<source.numLayers {
            for e in cache.residents(layer: l).sorted() {
                let slot = freeSlots[l].removeLast()
                slotOf[l][e] = slot
                totals.bytesRead += try pool[l][slot].fill(expert: e, from: source.locations[l][e], files: source.files)
            }
        }
    }

    /// `perLayer` slots in every layer.
    public func allocateSlots(perLayer: Int) throws {
        try allocateSlots(LayerSlots(perLayer: perLayer, layers: source.numLayers))
    }

    public func layerRouted(model: MixtralModel, layer l: Int, tokens: Int, chosen: UnsafePointer<Int>,
                            routerInput: UnsafePointer<Float>, firstPosition: Int) throws {
        guard let cache else { preconditionFailure("DiskExpertProvider: allocateSlots before running the model") }
        // from the first routing on (not during start-up, whose allocations and first writes it would slow),
        // in the order the prefill's first reads fill them: the transient buffers, then layer by layer
        if prefault == nil { prefault = SlotPrefault(slots: transients + pool.joined()) }
        closeStep(l)
        releaseHeldTransient()
        precondition(transientReads.isEmpty && planIssued == plan.count, "DiskExpertProvider: the previous layer's experts were not all used")
        let phase: Phase = firstPosition == 0 ? .prefill : .decode
        let routing = (0..<tokens).map { Array(UnsafeBufferPointer(start: chosen + $0 * topK, count: topK)) }
        let lookahead = phase == .decode ? policy.lookahead : 0
        let guesses = lookahead > 0
            ? lookaheadRouterLogits(model: model, layer: l, routerInput: Array(UnsafeBufferPointer(start: routerInput, count: model.config.hiddenSize)),
                                    depth: lookahead)
            : []
        let step = cache.step(layer: l, phase: phase, tokens: routing, lookaheadLogits: guesses)

        var open = OpenStep(phase: phase, firstPosition: firstPosition)
        prefetchesUsed[l] = []
        var demand: [PlannedRead] = [], prefetches: [PlannedRead] = []
        for event in step.events {
            switch event {
            case .prefetchUsed(let e): prefetchesUsed[l].insert(e)
            case .prefetchWasted, .hit: break
            case .miss(let e, let eviction):
                demand.append(PlannedRead(layer: l, expert: e, slot: claimSlot(layer: l, for: e, evicting: eviction?.expert)))
            case .transientMiss(let e):
                demand.append(PlannedRead(layer: l, expert: e, slot: nil))
            case .prefetch(let target, let e, let eviction):
                prefetches.append(PlannedRead(layer: target, expert: e, slot: claimSlot(layer: target, for: e, evicting: eviction?.expert)))
            }
        }
        // demand reads in the order the forward pass uses them, then the prefetches
        plan = demand.sorted { $0.expert < $1.expert } + prefetches
        planIssued = 0
        expertsAsked = 0
        open.reads = RealReads(hits: step.hits, misses: step.misses, transient: step.transientMisses, prefetchHits: step.prefetchHits,
                               prefetched: step.prefetched, evicted: step.evicted)
        totals.hits += step.hits.count
        totals.misses += step.misses.count
        totals.transientMisses += step.transientMisses.count
        totals.evictions += step.evictions.count
        totals.prefetched += step.prefetched.count
        if phase == .prefill { totals.prefillPrefetched += step.prefetched.count }
        totals.prefetchHits += step.prefetchHits.count
        totals.prefetchWasted += step.prefetchesWasted.count
        totals.prefetchCancelled += step.evictions.filter(\.unusedPrefetch).count
        if phase == .decode {
            totals.decodeHits += step.hits.count
            totals.decodeMisses += step.misses.count
        }
        openSteps[l] = open
        issuePlannedReads(layer: l)
    }

    public func expert(layer l: Int, _ e: Int) throws -> ExpertWeights {
        // the previous expert is done with: its transient buffer takes the next transient read
        releaseHeldTransient()
        issuePlannedReads(layer: l)
        expertsAsked += 1
        if let slot = slotOf[l][e] {
            if let job = pending[l].removeValue(forKey: e) {
                if prefetchesUsed[l].contains(e) && !job.isFinished { totals.prefetchesLate += 1 }
                try waitForRead(job, layer: l)
            }
            return pool[l][slot].weights!
        }
        guard let read = transientReads.removeValue(forKey: e) else {
            preconditionFailure("DiskExpertProvider: expert \(e) of layer \(l) was not routed, or experts were asked for out of ascending order")
        }
        try waitForRead(read.job, layer: l)
        heldTransient = read.buffer
        return transients[read.buffer].weights!
    }

    /// Closes every open step (waiting for its reads) and returns the run's totals so far.
    public func finish() -> DiskOffloadingSummary {
        for l in openSteps.indices { closeStep(l) }
        totals.finalize()
        return totals
    }

    deinit { prefault?.cancel() }

    /// Waits until the slots' memory has been faulted in; the arrays faulted and the calls the kernel refused
    /// ((0, 0) before the first `layerRouted`, which starts it).
    func waitForPrefault() -> (arrays: Int, refused: Int) {
        guard let prefault else { return (0, 0) }
        prefault.wait()
        return (prefault.arraysFaulted, prefault.refused)
    }

    /// Base addresses of every slot's arrays and the transient buffers' (tests check they never move).
    var slotAddresses: [[UnsafeRawPointer?]] {
        (pool.joined() + transients).map(\.storageAddresses)
    }

    /// Queues the current layer's planned reads on the I/O thread, in plan order, up to the first transient
    /// read that finds both transient buffers taken (it is queued when the forward pass frees one).
    private func issuePlannedReads(layer current: Int) {
        while planIssued < plan.count {
            let read = plan[planIssued]
            let job: ReadJob
            if let slot = read.slot {
                job = enqueueRead(layer: read.layer, expert: read.expert, slot: slot)
            } else {
                guard let buffer = freeTransients.popLast() else { return }
                let target = transients[buffer]
                target.empty()
                job = ReadJob()
                let location = source.locations[read.layer][read.expert], files = source.files, e = read.expert
                reads.add(job) { queued in try target.fill(expert: e, from: location, files: files, queued: queued) }
                transientReads[read.expert] = (buffer, job)
            }
            openSteps[current]!.jobs.append(job)
            onReadQueued?(QueuedRead(layer: read.layer, expert: read.expert, kind: read.slot == nil ? .transient : read.layer == current ? .slot : .prefetch,
                                     afterExperts: expertsAsked))
            planIssued += 1
        }
    }

    /// Frees the transient buffer last handed to the forward pass (it has moved on to the next expert).
    private func releaseHeldTransient() {
        guard let buffer = heldTransient else { return }
        heldTransient = nil
        transients[buffer].empty()
        freeTransients.append(buffer)
    }

    /// The slot for `expert`, newly admitted to layer `l`: the evicted expert's (after its read, if any,
    /// has stopped) or a free one.
    private func claimSlot(layer l: Int, for expert: Int, evicting victim: Int?) -> Int {
        let slot: Int
        if let victim {
            if let job = pending[l].removeValue(forKey: victim) {
                job.cancel()
                job.wait()
            }
            slot = slotOf[l].removeValue(forKey: victim)!
            pool[l][slot].empty()
        } else {
            slot = freeSlots[l].removeLast()
        }
        slotOf[l][expert] = slot
        return slot
    }

    /// Queues the read of expert `e` of layer `l` into `slot` (claimed for it) on the I/O thread.
    private func enqueueRead(layer l: Int, expert e: Int, slot: Int) -> ReadJob {
        let target = pool[l][slot]
        target.empty()
        let job = ReadJob()
        pending[l][e] = job
        let location = source.locations[l][e], files = source.files
        reads.add(job) { queued in try target.fill(expert: e, from: location, files: files, queued: queued) }
        return job
    }

    /// Waits for `job`, charging the wait to layer `l`'s open step as stall time, and its parts before the
    /// read started (queued behind other reads on the I/O thread) and after it finished (until this thread
    /// ran again) to `stallQueuedSeconds` and `stallWakeSeconds`.
    private func waitForRead(_ job: ReadJob, layer l: Int) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        job.wait()
        let end = DispatchTime.now().uptimeNanoseconds
        let stall = Double(end - start) / 1e9
        let queued = job.startedAt > start ? Double(min(job.startedAt, end) - start) / 1e9 : 0
        let wake = Double(end - min(end, max(start, job.finishedAt))) / 1e9
        openSteps[l]!.reads.stallUs += stall * 1e6
        totals.stallSeconds += stall
        totals.stallQueuedSeconds += queued
        totals.stallWakeSeconds += wake
        switch openSteps[l]!.phase {
        case .prefill: totals.prefillStallSeconds += stall
        case .decode:
            totals.decodeStallSeconds += stall
            totals.decodeStallQueuedSeconds += queued
        }
        if let error = job.error { throw error }
    }

    /// Ends layer `l`'s open step: waits for the reads it issued, totals them, reports the step.
    private func closeStep(_ l: Int) {
        guard var open = openSteps[l] else { return }
        openSteps[l] = nil
        for job in open.jobs {
            job.wait()
            open.reads.readBytes += job.bytes
            open.reads.readUs += job.seconds * 1e6
            if job.skipped { totals.prefetchesNotRead += 1 }
        }
        totals.bytesRead += open.reads.readBytes
        totals.readSeconds += open.reads.readUs / 1e6
        switch open.phase {
        case .prefill:
            totals.prefillBytesRead += open.reads.readBytes
            totals.prefillReadSeconds += open.reads.readUs / 1e6
        case .decode:
            totals.decodeBytesRead += open.reads.readBytes
            totals.decodeReadSeconds += open.reads.readUs / 1e6
        }
        onStep?(l, open.phase, open.firstPosition, open.reads)
    }
}
