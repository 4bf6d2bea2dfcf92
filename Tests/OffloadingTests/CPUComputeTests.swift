import Testing
import Foundation
import Offloading
import TestSupport

/// `cpu-compute`: fixed residents, misses computed by the host CPU where they live, nothing copied.
struct CPUComputeTests {
    /// `roundHardware` with a host CPU of 1 GFLOP/s and 1 GB/s (1 byte = 1 ns).
    let roundHost: HardwareProfile = {
        var profile = roundHardware
        profile.hostComputeFlops = 1e9
        profile.hostMemoryBandwidth = 1e9
        return profile
    }()

    @Test func residentsAreFixedAndMissesAreComputedOnTheHostNotCopied() throws {
        // one slot: expert 0 stays; every other expert is a host-computed miss, never stored, never read
        let (summary, records) = try run(.cpuCompute, slots: 1, forwards([[[1]], [[0]], [[2]], [[1]], [[0]]]),
                                         footprint: tinyFootprint(), hardware: roundHost)
        #expect(summary.bytesTransferred == 0 && summary.evictions == 0 && summary.transientMisses == 0)
        #expect(summary.hits == 2 && summary.misses == 3 && summary.hostComputed == 3)
        #expect(records.map(\.hits) == [[], [0], [], [], [0]])
        #expect(records.allSatisfy { $0.timeline!.transfers.isEmpty && $0.stallUs == 0 })
    }

    @Test func aHostExpertCostsItsRooflineAndTheHiddenStatesRoundTrip() throws {
        // 1536 bytes at 1 GB/s = 1.536 µs > 2 · 384 FLOPs at 1 GFLOP/s = 0.768 µs; plus 2 × 10 µs of latency
        let cost = CostModel(hardware: roundHost, footprint: tinyFootprint())
        #expect(abs(cost.hostExpertUs(layer: 0, expert: 1, rows: 1)! - 21.536) < 1e-9)
        // 4 rows: 2 · 384 · 4 FLOPs = 3.072 µs now bound the roofline
        #expect(abs(cost.hostExpertUs(layer: 0, expert: 1, rows: 4)! - 23.072) < 1e-9)
        // the decode call: attention, the host expert, the head — and nothing else
        let (summary, _) = try run(.cpuCompute, slots: 0, forwards([[[0]], [[1]]]), footprint: tinyFootprint(), hardware: roundHost)
        let expected = cost.attentionUs(layer: 0, tokens: 1) + 21.536 + cost.headUs
        #expect(abs(summary.decodeUs - expected) < 1e-9)
        // the same miss copied (lru, no slots) waits 1536 ns + 3 reads × 10 µs and then computes on the GPU
        let (copied, _) = try run(.lru, slots: 0, forwards([[[0]], [[1]]]), footprint: tinyFootprint(), hardware: roundHost)
        #expect(abs(copied.decodeUs - (cost.attentionUs(layer: 0, tokens: 1) + 31.536
                                       + cost.expertUs(layer: 0, expert: 1, rows: 1) + cost.headUs)) < 1e-9)
    }

    @Test func aProfileWithoutAHostCPUIsRefused() throws {
        #expect(throws: OffloadingError.noHostCPU(hardware: "round", policy: "cpu-compute")) {
            try run(.cpuCompute, slots: 1, forwards([[[0]]]), footprint: tinyFootprint())
        }
        #expect(HardwareProfile.laptop16GBNVMe.hostComputeFlops == nil)
        for profile in [HardwareProfile.colabT4, .rtx3060, .rtx3080Mobile, .a100_80g] {
            #expect(profile.hostComputeFlops != nil && profile.hostMemoryBandwidth != nil, "\(profile.name)")
        }
    }

    @Test func theNameParsesAndSweepsOfCachingPoliciesLeaveItOut() throws {
        #expect(try PolicySpec(name: "cpu-compute") == .cpuCompute)
        #expect(PolicySpec.cpuCompute.description == "cpu-compute")
        #expect(!PolicySpec.all(prefetch: PrefetchSettings(experts: 1, lookahead: 1)).contains(.cpuCompute))
    }

    @Test func hostNumbersInAProfileFileAreChecked() throws {
        let folder = try TemporaryDirectory("host-profile")
        let base = #"{"name": "h", "fast_memory_bytes": 1, "slow_memory_bytes": 1, "compute_flops": 1e12, "memory_bandwidth": 1e11, "link_bandwidth": 1e9, "link_latency_us": 10"#
        let good = folder.url.appendingPathComponent("good.json")
        try (base + #", "host_compute_flops": 7e10, "host_memory_bandwidth": 1.2e10}"#).write(to: good, atomically: true, encoding: .utf8)
        let profile = try HardwareProfile(contentsOf: good)
        #expect(profile.hostComputeFlops == 7e10 && profile.hostMemoryBandwidth == 1.2e10)
        let bad = folder.url.appendingPathComponent("bad.json")
        try (base + #", "host_compute_flops": -1, "host_memory_bandwidth": 1.2e10}"#).write(to: bad, atomically: true, encoding: .utf8)
        #expect(throws: OffloadingError.malformedHardwareFile(path: bad.path, field: "host_compute_flops",
                                                              reason: "must be a positive number, got -1.0")) {
            try HardwareProfile(contentsOf: bad)
        }
    }

    @Test func naiveOffloadingReadsEveryExpertOfEveryLayerPerToken() throws {
        let footprint = tinyFootprint(layers: 2, experts: 4, topK: 2)
        let cost = CostModel(hardware: roundHardware, footprint: footprint)
        // per layer: attention + 4 reads of 31.536 µs + 2 experts' compute; then the head
        let layer = cost.attentionUs(layer: 0, tokens: 1) + 4 * 31.536 + 2 * cost.expertUs(layer: 0, expert: 0, rows: 1)
        #expect(abs(cost.naiveOffloadingTokenUs - (2 * layer + cost.headUs)) < 1e-9)
    }

    @Test func aTiledRunRepeatsTheRecordedLayers() throws {
        let model = try fixtureModel()
        let layers = model.config.numHiddenLayers
        let run = try RecordedRun.record(model: model, prompt: [1, 2, 3], maxTokens: 3, lookahead: 1)
        let tiled = run.tiled(layers: 2 * layers + 1)
        for (forward, original) in zip(tiled.forwards, run.forwards) {
            #expect(forward.steps.map(\.layer) == Array(0..<(2 * layers + 1)))
            for (j, step) in forward.steps.enumerated() {
                #expect(step.tokens == original.steps[j % layers].tokens && step.phase == original.phase)
            }
            #expect(forward.next == original.next)
        }
    }
}
