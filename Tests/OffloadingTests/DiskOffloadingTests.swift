import Testing
import Foundation
import Synchronization
import Checkpoints
import Engine
import Quantization
import Tracing
@testable import Offloading
import TestSupport

/// Real offloading: experts streamed from disk into slots (`DiskExpertProvider`), the expert store, and the
/// RAM budget's accounting.
struct DiskOffloadingTests {
    let prompt = [1, 17, 42, 5, 88, 23, 61, 9, 300, 7]

    /// This test's folder, removed when the test ends.
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("disk-offloading") }

    /// A path in this test's folder where nothing is yet (an expert store creates its own folder).
    private func unusedPath() -> URL { scratch.url.appendingPathComponent(UUID().uuidString) }

    /// The model with its experts streamed by a provider with `slots` slots per layer: read in place when
    /// the checkpoint allows, else from a store built in `store`.
    private func streamed(_ directory: URL, precision: String, policy: PolicySpec, slots: Int,
                          store: URL) throws -> (MixtralModel, DiskExpertProvider) {
        let checkpoint = try Checkpoint(directory: directory)
        let spec = try PrecisionSpec(parsing: precision)
        let source = try ExpertSource.inPlace(checkpoint, precision: spec)
            ?? ExpertStore.openOrBuild(store, checkpoint: checkpoint, precision: spec)
        let provider = try DiskExpertProvider(source: source, policy: policy, topK: checkpoint.config.numExpertsPerToken)
        let model = try MixtralModel(checkpoint: checkpoint, precision: spec, experts: .streamed(provider))
        try provider.allocateSlots(perLayer: slots)
        return (model, provider)
    }

    @Test(arguments: ["fp32", "q4"], ["lru", "lru+prefetch"])
    func streamedLogitsAreBitIdenticalOnTheDefaultModel(precision: String, policyName: String) throws {
        let directory = try DefaultModel.locate()
        let store = unusedPath()
        let resident = try MixtralModel(checkpoint: Checkpoint(directory: directory), precision: PrecisionSpec(parsing: precision))
        let footprint = ModelFootprint(model: resident)
        let expertBytes = footprint.largestExpertBytes
        // a budget holding a quarter of the experts, on top of what must stay resident
        let session = Session.memoryBytes(config: resident.config, capacity: prompt.count + 8, tokens: prompt.count)
        let quarter = (footprint.bytesByClass[.experts] ?? 0) / 4
        let budget = try RAMBudget(budget: footprint.residentBytes + session + RAMBudget.transientBuffers * expertBytes + quarter,
                                   residentBytes: footprint.residentBytes, sessionBytes: session, expertBytes: expertBytes,
                                   numLayers: footprint.numLayers, numExperts: footprint.numExperts, topK: footprint.topK)
        #expect(budget.slotsPerLayer == footprint.numExperts / 4)
        let policy = try PolicySpec(name: policyName)
        let (model, provider) = try streamed(directory, precision: precision, policy: policy, slots: budget.slotsPerLayer, store: store)
        #expect(model.layers.allSatisfy { $0.experts.isEmpty })
        #expect(model.weightBytes == resident.weightBytes)
        #expect(ModelFootprint(model: model) == footprint)
        #expect(try greedyLogitBits(model, prompt: prompt) == greedyLogitBits(resident, prompt: prompt), "\(policyName) at \(precision)")

        let summary = provider.finish()
        #expect(summary.misses > 0 && summary.hits > 0)
        // every read is a whole expert: demand misses and the prefetches not cancelled before their read
        #expect(summary.bytesRead == (summary.misses + summary.prefetched - summary.prefetchesNotRead) * expertBytes)
        #expect(policy == .lru ? summary.prefetched == 0 : summary.prefetched > 0)
    }

    @Test(arguments: Precision.allCases.filter { !$0.needsCalibration })  // gptq4/awq4 are experts-only, calibrated at load (CalibratedPrecisionTests)
    func streamedLogitsAreBitIdenticalAtEveryPrecision(precision: Precision) throws {
        let directory = AllPrecisionsTests.checkpoint
        let store = unusedPath()
        let spec = PrecisionSpec(uniform: precision)
        let resident = try MixtralModel(checkpoint: Checkpoint(directory: directory), precision: spec)
        for slots in [1, 3] {
            let (model, _) = try streamed(directory, precision: spec.description, policy: .lru, slots: slots, store: store)
            #expect(try greedyLogitBits(model, prompt: [1, 9, 33, 2, 60, 17]) == greedyLogitBits(resident, prompt: [1, 9, 33, 2, 60, 17]),
                    "\(slots) slots at \(precision)")
        }
        // fp32 experts of an F32 checkpoint are read in place; the other precisions need a store
        let inPlace = try ExpertSource.inPlace(Checkpoint(directory: directory), precision: spec)
        #expect((inPlace != nil) == (precision == .fp32))
    }

    @Test func slotsAreFilledInPlaceAndThePoolNeverGrows() throws {
        let store = unusedPath()
        let (model, provider) = try streamed(AllPrecisionsTests.checkpoint, precision: "q4", policy: .lru, slots: 2, store: store)
        let before = provider.slotAddresses
        #expect(before.count == 2 * 2 + 2)   // 2 layers × 2 slots, and the two transient buffers
        var steps: [RealReads] = []
        provider.onStep = { _, _, _, reads in steps.append(reads) }
        _ = try greedyLogitBits(model, prompt: [1, 9, 33, 2, 60, 17, 4, 8, 15, 16, 23, 42])
        let summary = provider.finish()
        #expect(provider.slotAddresses == before)
        #expect(summary.evictions > 0 && summary.transientMisses > 0)
        // an expert is read at most once per layer per forward call
        for reads in steps {
            #expect(Set(reads.misses).count == reads.misses.count)
            #expect(Set(reads.hits).isDisjoint(with: reads.misses))
        }
        #expect(steps.count == 2 * 7)
    }

    @Test func storeForAnotherModelPrecisionOrTruncatedIsRefused() throws {
        let store = unusedPath()
        let random = try Checkpoint(directory: AllPrecisionsTests.checkpoint)
        let q4 = PrecisionSpec(uniform: .q4)
        _ = try ExpertStore.build(store, checkpoint: random, precision: q4)
        _ = try ExpertStore.open(store, checkpoint: random, precision: q4)

        #expect { try ExpertStore.open(store, checkpoint: random, precision: PrecisionSpec(uniform: .int8)) } throws: { error in
            guard case ExpertStoreError.mismatch(_, let reason) = error else { return false }
            return reason.contains("built at precision q4; this run uses int8")
        }
        let other = try Checkpoint(directory: DefaultModel.locate())
        #expect { try ExpertStore.open(store, checkpoint: other, precision: q4) } throws: { error in
            guard case ExpertStoreError.mismatch(_, let reason) = error else { return false }
            return reason.contains("built for another model")
        }

        // truncated: refused by open, rebuilt by openOrBuild, which says why
        let data = store.appendingPathComponent(ExpertStore.dataName)
        let handle = try FileHandle(forWritingTo: data)
        let size = try handle.seekToEnd()
        try handle.truncate(atOffset: size - 100)
        try handle.close()
        #expect { try ExpertStore.open(store, checkpoint: random, precision: q4) } throws: { error in
            guard case ExpertStoreError.truncated(_, let expected, let actual) = error else { return false }
            return expected == Int(size) && actual == Int(size) - 100
        }
        var reasons: [String] = []
        let rebuilt = try ExpertStore.openOrBuild(store, checkpoint: random, precision: q4, rebuilding: { reasons.append($0) })
        #expect(reasons.count == 1 && reasons[0].contains("truncated"))
        #expect(rebuilt.files[0].byteCount == Int(size))

        // a folder of other files is never taken for a store, nor overwritten
        let foreign = unusedPath()
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: foreign.appendingPathComponent("notes.txt"))
        #expect(throws: ExpertStoreError.notAStore(path: foreign.path)) {
            try ExpertStore.openOrBuild(foreign, checkpoint: random, precision: q4)
        }
    }

    @Test func concurrentRunsOnOneFolderShareOneBuild() throws {
        let store = unusedPath()
        let random = try Checkpoint(directory: AllPrecisionsTests.checkpoint)
        let q4 = PrecisionSpec(uniform: .q4)
        let firstIsBuilding = DispatchSemaphore(value: 0), secondIsWaiting = DispatchSemaphore(value: 0)
        /// What each of the two runs did, written from their threads.
        struct Runs {
            var built = [0, 0], waited = [false, false]
            var sources: [ExpertSource?] = [nil, nil]
            var errors: [Error] = []
        }
        final class Shared: Sendable { let runs = Mutex(Runs()) }
        let shared = Shared()
        @Sendable func run(_ i: Int) {
            do {
                let source = try ExpertStore.openOrBuild(store, checkpoint: random, precision: q4, waiting: { line in
                    shared.runs.withLock { $0.waited[i] = true }
                    #expect(line.contains("waiting for another mixtral-lab process building the store"))
                    secondIsWaiting.signal()
                }, progress: { done, _ in
                    shared.runs.withLock { $0.built[i] += 1 }
                    // hold the build until the other run has found it underway
                    if i == 0 && done == 1 {
                        firstIsBuilding.signal()
                        #expect(secondIsWaiting.wait(timeout: .now() + 60) == .success)
                    }
                })
                shared.runs.withLock { $0.sources[i] = source }
            } catch {
                shared.runs.withLock { $0.errors.append(error) }
            }
        }
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { run(0) }
        #expect(firstIsBuilding.wait(timeout: .now() + 60) == .success)
        DispatchQueue.global().async(group: group) { run(1) }
        #expect(group.wait(timeout: .now() + 120) == .success)

        let (built, waited, sources, errors) = shared.runs.withLock { ($0.built, $0.waited, $0.sources, $0.errors) }
        #expect(errors.isEmpty, "\(errors)")
        #expect(built[0] > 0 && built[1] == 0 && waited == [false, true])
        let size = try #require(sources[0]?.files[0].byteCount)
        #expect(sources[1]?.files[0].byteCount == size)
        #expect(try ExpertStore.open(store, checkpoint: random, precision: q4).files[0].byteCount == size)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.path).sorted()
                == [ExpertStore.dataName, ExpertStore.manifestName])   // the lock is on the folder: no lock file
    }

    @Test func aLeftoverPartialStoreIsRebuilt() throws {
        let store = unusedPath()
        let random = try Checkpoint(directory: AllPrecisionsTests.checkpoint)
        try FileManager.default.createDirectory(at: store, withIntermediateDirectories: true)
        try Data("interrupted".utf8).write(to: store.appendingPathComponent(ExpertStore.dataName + ".partial"))
        var reasons: [String] = []
        let source = try ExpertStore.openOrBuild(store, checkpoint: random, precision: PrecisionSpec(uniform: .q4),
                                                 rebuilding: { reasons.append($0) })
        #expect(reasons.isEmpty && source.files[0].byteCount > 0)
        #expect(!FileManager.default.fileExists(atPath: store.appendingPathComponent(ExpertStore.dataName + ".partial").path))
    }

    @Test func budgetAccounting() throws {
        // 100 resident + 10 session + 2 × 8 transient = 126 fixed; 4 layers × 8-byte slots
        let budget = try RAMBudget(budget: 126 + 3 * 32 + 31, residentBytes: 100, sessionBytes: 10, expertBytes: 8,
                                   numLayers: 4, numExperts: 8, topK: 2)
        #expect(budget.slotsPerLayer == 3)
        // the 31 bytes left after 3 slots per layer hold 3 more slots (layers 0–2)
        #expect(budget.usedBytes == 126 + 3 * 32 + 3 * 8 && budget.minimumBytes == 126 + 32)
        #expect(try RAMBudget(budget: 1 << 20, residentBytes: 100, sessionBytes: 10, expertBytes: 8,
                              numLayers: 4, numExperts: 8, topK: 2).slotsPerLayer == 8)
        #expect(budget.lines.contains { $0.contains("fewer slots than the 2 experts") } == false)
        #expect(throws: ExpertStoreError.budgetTooSmall(budget: 157, minimum: 158,
            breakdown: "resident weights 100 B + KV cache and scratch 10 B + 2 transient expert buffers × 8 B + 1 slot × 4 layers × 8 B")) {
            try RAMBudget(budget: 157, residentBytes: 100, sessionBytes: 10, expertBytes: 8, numLayers: 4, numExperts: 8, topK: 2)
        }
        let one = try RAMBudget(budget: 158, residentBytes: 100, sessionBytes: 10, expertBytes: 8, numLayers: 4, numExperts: 8, topK: 2)
        #expect(one.slotsPerLayer == 1 && one.lines.contains { $0.contains("fewer slots than the 2 experts") })
    }

    @Test func projectionLayoutSizesAreTheOperatorSizes() throws {
        let checkpoint = try Checkpoint(directory: AllPrecisionsTests.checkpoint)
        for precision in Precision.allCases where !precision.needsCalibration {
            let weight = try checkpoint.loadWeight(WeightNames.expert(0, 3, "w2"), rows: 64, cols: 128, precision: precision)
            let layout = try #require(ProjectionLayout(of: weight))
            #expect(layout.byteCount == weight.byteCount, "\(precision)")
            #expect(layout.bytes(of: weight).count == weight.byteCount, "\(precision)")
        }
    }

    @Test func mappedExpertsComputeTheSameTokens() throws {
        let checkpoint = try Checkpoint(directory: AllPrecisionsTests.checkpoint)
        let fp32 = PrecisionSpec(uniform: .fp32)
        let resident = try MixtralModel(checkpoint: checkpoint, precision: fp32)
        let mapped = try MixtralModel(checkpoint: checkpoint, precision: fp32,
                                      experts: .streamed(MappedExperts(checkpoint: checkpoint, precision: fp32)))
        let prompt = [1, 9, 33, 2, 60, 17]
        // decode steps are bit-identical (cblas_sgemv on the same bytes); the prefill's batched products
        // go row by row, so compare greedy tokens and logits within rounding
        let a = try greedyLogitBits(resident, prompt: prompt), b = try greedyLogitBits(mapped, prompt: prompt)
        for (x, y) in zip(a, b) {
            let maxDifference = zip(x, y).map { abs(Float(bitPattern: $0) - Float(bitPattern: $1)) }.max()!
            #expect(maxDifference < 1e-4)
        }
        #expect(throws: ExpertStoreError.self) { try MappedExperts(checkpoint: checkpoint, precision: PrecisionSpec(uniform: .q4)) }
    }

    @Test func optimalCannotRunLive() throws {
        let source = try #require(try ExpertSource.inPlace(Checkpoint(directory: AllPrecisionsTests.checkpoint), precision: PrecisionSpec(uniform: .fp32)))
        #expect(throws: ExpertStoreError.policyNeedsRecordedRouting(policy: "optimal")) {
            try DiskExpertProvider(source: source, policy: .optimal, topK: 2)
        }
    }
}
