import Foundation
import Engine
import Tracing

/// Real offloading: streams a model's experts from disk into a fixed pool of preallocated slots per MoE
/// layer (Eliseev & Mazur 2023, section 3). Every decision — hits, misses, what is stored or evicted,
/// what is prefetched — is `ExpertCache.step`'s, the same the simulator (`OffloadingSimulator`) makes on
/// the same routing; this type carries them out with reads:
/// - A miss stored in a slot is read into it (the evicted expert's slot, or a free one); a transient miss
///   is read into the one transient buffer when the forward pass asks for it, used, and dropped.
/// - Reads into slots run in order on one background I/O thread — the layer's demand reads, then its
///   prefetches for later layers (`lru+prefetch`, decode only) — overlapping the experts' compute; the
///   forward pass waits for an expert's read when it needs that expert (a stall).
/// - What the engine does that the decisions cannot see is counted under its own name: a prefetch used
///   before its read finished (`prefetchesLate`), a prefetched expert evicted before its read started,
///   whose read is then skipped (`prefetchesNotRead`).
/// - Each read's pages are dropped from the page cache right after it (`posix_fadvise DONTNEED`), and the
///   files' pages once at the start, so the measured read times are the disk's.
///
/// A model may run one forward pass at a time on a provider; `allocateSlots` must be called before it runs.
public final class DiskExpertProvider: ExpertProvider, @unchecked Sendable {
    public let policy: PolicySpec
    public let source: ExpertSource
    /// Slots of each MoE layer (empty until `allocateSlots`).
    public private(set) var slots = LayerSlots([])
    /// Called when a layer step's reads are all finished: (layer, phase, first position of the call, reads).
    public var onStep: ((Int, Phase, Int, RealReads) -> Void)?
    /// How the page cache is kept out of the measurements, in words.
    public let pageCache: String

    private let numExperts: Int
    private let topK: Int
    private var cache: ExpertCache?
    private var pool: [[ExpertSlot]] = []
    /// Per layer: expert → index of its slot.
    private var slotOf: [[Int: Int]] = []
    private var freeSlots: [[Int]] = []
    private var transient: ExpertSlot?
    /// Per layer: expert → the read filling its slot, until the forward pass has waited for it.
    private var pending: [[Int: ReadJob]] = []
    /// Per layer: the prefetched experts the open step uses (a read not finished when asked for is late).
    private var prefetchesUsed: [Set<Int>]
    /// Per layer: the step under way, closed when the layer's next step begins or at `finish()`.
    private var openSteps: [OpenStep?]
    private var transientThisStep: Set<Int> = []
    private var totals: DiskOffloadingSummary
    private let reads = DispatchQueue(label: "mixtral-lab.expert-reads")

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
        for file in source.files {
            file.dropsPagesAfterRead = true
            file.dropPageCache()
        }
        pageCache = "posix_fadvise(DONTNEED) on \(source.files.count == 1 ? "the expert file" : "the \(source.files.count) expert files") at start and after every read"
        totals = DiskOffloadingSummary(policy: policy.description, slots: [], source: source.description, pageCache: pageCache)
    }

    public func expertBytes(layer: Int) -> [Int] { Array(repeating: source.layout.byteCount, count: numExperts) }

    /// Bytes of one slot (one expert at the run's layout).
    public var slotBytes: Int { source.layout.byteCount }

    /// Allocates the slots of every layer (`slots.counts[l]` in layer l) plus the transient buffer, and
    /// starts every layer's policy with an empty cache (`resident` reads all its experts now).
    /// - Throws: read errors for `resident`'s initial experts.
    public func allocateSlots(_ slots: LayerSlots) throws {
        precondition(slots.counts.count == source.numLayers, "DiskExpertProvider: \(slots.counts.count) slot counts for \(source.numLayers) layers")
        let cache = try ExpertCache(policy: policy, capacities: slots.counts, numExperts: numExperts)
        self.cache = cache
        self.slots = LayerSlots(cache.capacities)
        totals.slotsPerLayer = self.slots.fewest
        totals.extraSlotLayers = self.slots.layersWithMore
        pool = cache.capacities.map { capacity in (0..<capacity).map { _ in ExpertSlot(layout: source.layout) } }
        transient = ExpertSlot(layout: source.layout)
        slotOf = Array(repeating: [:], count: source.numLayers)
        freeSlots = cache.capacities.map { Array((0..<$0).reversed()) }
        pending = Array(repeating: [:], count: source.numLayers)
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
        closeStep(l)
        let phase: Phase = firstPosition == 0 ? .prefill : .decode
        let routing = (0..<tokens).map { Array(UnsafeBufferPointer(start: chosen + $0 * topK, count: topK)) }
        let lookahead = phase == .decode ? policy.lookahead : 0
        let guesses = lookahead > 0
            ? lookaheadRouterLogits(model: model, layer: l, routerInput: Array(UnsafeBufferPointer(start: routerInput, count: model.config.hiddenSize)),
                                    depth: lookahead)
            : []
        let step = cache.step(layer: l, phase: phase, tokens: routing, lookaheadLogits: guesses)

        var open = OpenStep(phase: phase, firstPosition: firstPosition)
        transientThisStep = []
        prefetchesUsed[l] = []
        for event in step.events {
            switch event {
            case .prefetchUsed(let e): prefetchesUsed[l].insert(e)
            case .prefetchWasted, .hit: break
            case .miss(let e, let eviction):
                open.jobs.append(enqueueRead(layer: l, expert: e, slot: claimSlot(layer: l, evicting: eviction?.expert)))
            case .transientMiss(let e):
                transientThisStep.insert(e)
            case .prefetch(let target, let e, let eviction):
                open.jobs.append(enqueueRead(layer: target, expert: e, slot: claimSlot(layer: target, evicting: eviction?.expert)))
            }
        }
        open.reads = RealReads(hits: step.hits, misses: step.misses, transient: step.transientMisses, prefetchHits: step.prefetchHits,
                               prefetched: step.prefetched, evicted: step.evicted)
        totals.hits += step.hits.count
        totals.misses += step.misses.count
        totals.transientMisses += step.transientMisses.count
        totals.evictions += step.evictions.count
        totals.prefetched += step.prefetched.count
        totals.prefetchHits += step.prefetchHits.count
        totals.prefetchWasted += step.prefetchesWasted.count
        totals.prefetchCancelled += step.evictions.filter(\.unusedPrefetch).count
        if phase == .decode {
            totals.decodeHits += step.hits.count
            totals.decodeMisses += step.misses.count
        }
        openSteps[l] = open
    }

    public func expert(layer l: Int, _ e: Int) throws -> ExpertWeights {
        if let slot = slotOf[l][e] {
            if let job = pending[l].removeValue(forKey: e) {
                if prefetchesUsed[l].contains(e) && !job.isFinished { totals.prefetchesLate += 1 }
                try waitForRead(job, layer: l)
            }
            return pool[l][slot].weights!
        }
        precondition(transientThisStep.contains(e), "DiskExpertProvider: expert \(e) of layer \(l) was not routed")
        let buffer = transient!
        buffer.empty()
        let job = ReadJob()
        let location = source.locations[l][e], files = source.files
        reads.async { job.run { try buffer.fill(expert: e, from: location, files: files) } }
        openSteps[l]!.jobs.append(job)
        try waitForRead(job, layer: l)
        return buffer.weights!
    }

    /// Closes every open step (waiting for its reads) and returns the run's totals so far.
    public func finish() -> DiskOffloadingSummary {
        for l in openSteps.indices { closeStep(l) }
        totals.finalize()
        return totals
    }

    /// Base addresses of every slot's arrays and the transient buffer's (tests check they never move).
    var slotAddresses: [[UnsafeRawPointer?]] {
        (pool.joined() + [transient].compactMap { $0 }).map(\.storageAddresses)
    }

    /// The slot for a newly admitted expert of layer `l`: the evicted expert's (after its read, if any,
    /// has stopped) or a free one.
    private func claimSlot(layer l: Int, evicting victim: Int?) -> Int {
        guard let victim else { return freeSlots[l].removeLast() }
        if let job = pending[l].removeValue(forKey: victim) {
            job.cancel()
            job.wait()
        }
        let slot = slotOf[l].removeValue(forKey: victim)!
        pool[l][slot].empty()
        return slot
    }

    /// Queues the read of expert `e` of layer `l` into `slot` on the I/O thread.
    private func enqueueRead(layer l: Int, expert e: Int, slot: Int) -> ReadJob {
        let target = pool[l][slot]
        target.empty()
        slotOf[l][e] = slot
        let job = ReadJob()
        pending[l][e] = job
        let location = source.locations[l][e], files = source.files
        reads.async { job.run { try target.fill(expert: e, from: location, files: files) } }
        return job
    }

    /// Waits for `job`, charging the wait to layer `l`'s open step as stall time.
    private func waitForRead(_ job: ReadJob, layer l: Int) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        job.wait()
        let stall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        openSteps[l]!.reads.stallUs += stall * 1e6
        totals.stallSeconds += stall
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
        onStep?(l, open.phase, open.firstPosition, open.reads)
    }
}
