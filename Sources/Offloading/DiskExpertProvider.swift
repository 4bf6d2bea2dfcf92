import Foundation
import Engine
import Tracing

/// Real offloading: streams a model's experts from disk into a fixed pool of preallocated slots per MoE
/// layer, with the simulator's `CachePolicy` types deciding what stays (Eliseev & Mazur 2023, section 3).
///
/// Rules (the simulator's, `OffloadingSimulator`, with one difference marked *):
/// - Per layer and forward call, each distinct expert the tokens chose is accessed once, in order of first
///   use: hits first, then misses. A miss is read from disk once into a slot (evicting the policy's
///   victim when all slots are full) — so an expert is read at most once per layer per forward call.
/// - * An expert of the step never evicts another expert of the same step (their slots are in use): a miss
///   finding no free or evictable slot, or one the policy declines to store, is read into the transient
///   buffer, used, and dropped. A prefill needing more experts than the slots streams them that way.
/// - `lru+prefetch` (decode only): once layer L's router input is known, the routers of layers L+1…L+D
///   guess their top-m experts, which are read ahead into those layers' slots. All reads run in order on
///   one background I/O thread, demand reads of the layer first, then prefetches, overlapping the
///   experts' compute; a prefetch not finished when its layer needs it is waited for. A prefetched
///   expert is a prefetch hit only if used at the step it was read for.
/// - Each read's pages are dropped from the page cache right after it (`posix_fadvise DONTNEED`), and the
///   files' pages once at the start, so the measured read times are the disk's.
///
/// A model may run one forward pass at a time on a provider; `allocateSlots` must be called before it runs.
public final class DiskExpertProvider: ExpertProvider, @unchecked Sendable {
    public let policy: PolicySpec
    public let source: ExpertSource
    /// Slots per MoE layer (0 until `allocateSlots`).
    public private(set) var slotsPerLayer = 0
    /// Called when a layer step's reads are all finished: (layer, phase, first position of the call, reads).
    public var onStep: ((Int, Phase, Int, RealReads) -> Void)?
    /// How the page cache is kept out of the measurements, in words.
    public let pageCache: String

    private let numExperts: Int
    private let topK: Int
    private var caches: [LayerCache] = []
    private var slots: [[ExpertSlot]] = []
    /// Per layer: expert → index of its slot.
    private var slotOf: [[Int: Int]] = []
    private var freeSlots: [[Int]] = []
    private var transient: ExpertSlot?
    /// Per layer: expert → the read filling its slot, until the forward pass has waited for it.
    private var pending: [[Int: ReadJob]] = []
    private var steps: [Int]
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
        steps = Array(repeating: 0, count: source.numLayers)
        openSteps = Array(repeating: nil, count: source.numLayers)
        for file in source.files {
            file.dropsPagesAfterRead = true
            file.dropPageCache()
        }
        pageCache = "posix_fadvise(DONTNEED) on \(source.files.count == 1 ? "the expert file" : "the \(source.files.count) expert files") at start and after every read"
        totals = DiskOffloadingSummary(policy: policy.description, slotsPerLayer: 0, source: source.description, pageCache: pageCache)
    }

    public func expertBytes(layer: Int) -> [Int] { Array(repeating: source.layout.byteCount, count: numExperts) }

    /// Bytes of one slot (one expert at the run's layout).
    public var slotBytes: Int { source.layout.byteCount }

    /// Allocates `perLayer` slots in every layer plus the transient buffer, and starts every layer's
    /// policy with an empty cache (`resident` reads all its experts now).
    /// - Throws: read errors for `resident`'s initial experts.
    public func allocateSlots(perLayer: Int) throws {
        let capacity = policy.capacity(cacheExperts: perLayer, numExperts: numExperts)
        slotsPerLayer = capacity
        totals.slotsPerLayer = capacity
        slots = (0..<source.numLayers).map { _ in (0..<capacity).map { _ in ExpertSlot(layout: source.layout) } }
        transient = ExpertSlot(layout: source.layout)
        caches = try (0..<source.numLayers).map { _ in
            LayerCache(capacity: capacity, policy: try policy.makePolicy(capacity: capacity, future: nil), numExperts: numExperts)
        }
        slotOf = Array(repeating: [:], count: source.numLayers)
        freeSlots = Array(repeating: Array((0..<capacity).reversed()), count: source.numLayers)
        pending = Array(repeating: [:], count: source.numLayers)
        for l in 0..<source.numLayers {
            for e in caches[l].resident.sorted() {
                let slot = freeSlots[l].removeLast()
                slotOf[l][e] = slot
                totals.bytesRead += try slots[l][slot].fill(expert: e, from: source.locations[l][e], files: source.files)
            }
        }
    }

    public func layerRouted(model: MixtralModel, layer l: Int, tokens: Int, chosen: UnsafePointer<Int>,
                            routerInput: UnsafePointer<Float>, firstPosition: Int) throws {
        precondition(transient != nil, "DiskExpertProvider: allocateSlots before running the model")
        closeStep(l)
        let phase: Phase = firstPosition == 0 ? .prefill : .decode
        var open = OpenStep(phase: phase, firstPosition: firstPosition)
        let step = steps[l]
        steps[l] += 1
        let policy = caches[l].policy

        // routing, distinct experts in order of first use
        var distinct: [Int] = []
        for t in 0..<tokens {
            let experts = Array(UnsafeBufferPointer(start: chosen + t * topK, count: topK))
            policy.tokenRouted(experts, step: step)
            for e in experts where !distinct.contains(e) { distinct.append(e) }
        }
        if phase == .prefill { policy.promptRouted() }

        // prefetches waiting for this step
        for e in caches[l].prefetchedUnused {
            if distinct.contains(e) {
                open.reads.prefetchHits.append(e)
                totals.prefetchHits += 1
            } else {
                totals.prefetchWasted += 1
            }
        }
        caches[l].prefetchedUnused.removeAll()

        // hits, then misses: each read once, into a slot or the transient buffer
        let hits = distinct.filter { caches[l].contains($0) }
        let misses = distinct.filter { !caches[l].contains($0) }
        for e in hits { policy.accessed(e, step: step) }
        transientThisStep = []
        let stepExperts = Set(distinct)
        for e in misses {
            let admission = caches[l].admit(e, step: step, protecting: stepExperts)
            policy.accessed(e, step: step)
            guard admission.stored else {
                transientThisStep.insert(e)
                open.reads.transient.append(e)
                continue
            }
            if admission.cancelledPrefetch { totals.prefetchCancelled += 1 }
            let slot = claimSlot(layer: l, evicting: admission.evicted)
            if let evicted = admission.evicted { open.reads.evicted.append(evicted) }
            open.jobs.append(enqueueRead(layer: l, expert: e, slot: slot))
        }
        open.reads.hits = hits
        open.reads.misses = misses
        totals.hits += hits.count
        totals.misses += misses.count
        totals.transientReads += transientThisStep.count
        totals.evictions += open.reads.evicted.count
        if phase == .decode {
            totals.decodeHits += hits.count
            totals.decodeMisses += misses.count
        }

        // speculative prefetch for the next layers (decode only), queued after this layer's demand reads
        if phase == .decode, let settings = policy.prefetch {
            let input = Array(UnsafeBufferPointer(start: routerInput, count: model.config.hiddenSize))
            for target in (l + 1)..<min(l + 1 + settings.lookahead, source.numLayers) {
                let logits = model.layers[target].router.apply(input)
                let guesses = logits.indices.sorted { (logits[$0], -$0) > (logits[$1], -$1) }
                var issued: Set<Int> = []
                for e in guesses.prefix(min(settings.experts, caches[target].capacity)) where !caches[target].contains(e) {
                    let admission = caches[target].admit(e, step: steps[target], protecting: issued)
                    guard admission.stored else { continue }
                    if admission.cancelledPrefetch { totals.prefetchCancelled += 1 }
                    if admission.evicted != nil { totals.evictions += 1 }
                    let slot = claimSlot(layer: target, evicting: admission.evicted)
                    open.jobs.append(enqueueRead(layer: target, expert: e, slot: slot))
                    caches[target].prefetchedUnused.insert(e)
                    issued.insert(e)
                    open.reads.prefetched.append(LayerExpert(layer: target, expert: e))
                    totals.prefetched += 1
                }
            }
        }
        openSteps[l] = open
    }

    public func expert(layer l: Int, _ e: Int) throws -> ExpertWeights {
        if let slot = slotOf[l][e] {
            if let job = pending[l].removeValue(forKey: e) { try waitForRead(job, layer: l) }
            return slots[l][slot].weights!
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
        (slots.joined() + [transient].compactMap { $0 }).map(\.storageAddresses)
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
        slots[l][slot].empty()
        return slot
    }

    /// Queues the read of expert `e` of layer `l` into `slot` on the I/O thread.
    private func enqueueRead(layer l: Int, expert e: Int, slot: Int) -> ReadJob {
        let target = slots[l][slot]
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
