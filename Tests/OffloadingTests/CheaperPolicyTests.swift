import Testing
import Foundation
import Offloading
import TestSupport

/// `cheaper`: cpu-compute's fixed experts, each miss computed by the host CPU or copied, whichever the
/// profile makes cheaper for that miss.
struct CheaperPolicyTests {
    /// `roundHardware` (1 GB/s link, 10 µs latency) with a host CPU of 1 GFLOP/s and `hostBandwidth` B/s.
    func host(bandwidth hostBandwidth: Double) -> HardwareProfile {
        var profile = roundHardware
        profile.hostComputeFlops = 1e9
        profile.hostMemoryBandwidth = hostBandwidth
        return profile
    }

    /// µs of a miss copied through the transient buffer and computed in the fast tier.
    func copyUs(_ cost: CostModel, rows: Int) -> Double {
        cost.transferUs(bytes: cost.footprint.expertBytes[0][1]) + cost.expertUs(layer: 0, expert: 1, rows: rows)
    }

    @Test func aDecodeMissGoesToTheHostWhenItsRooflineIsCheaper() throws {
        // host: 1536 B at 1 GB/s + 2 × 10 µs = 21.536 µs; copy: 1536 B + 3 × 10 µs + GPU ≈ 31.55 µs
        let hardware = host(bandwidth: 1e9)
        let cost = CostModel(hardware: hardware, footprint: tinyFootprint())
        #expect(cost.hostIsCheaper(layer: 0, expert: 1, rows: 1) == true)
        let calls = forwards([[[0]], [[1]], [[2]]])
        let (cheaper, _) = try run(.cheaper, slots: 1, calls, footprint: tinyFootprint(), hardware: hardware)
        let (cpu, _) = try run(.cpuCompute, slots: 1, calls, footprint: tinyFootprint(), hardware: hardware)
        #expect(cheaper.hostComputed == 2 && cheaper.transientMisses == 0 && cheaper.bytesTransferred == 0)
        #expect(cheaper.decodeUs == cpu.decodeUs)
        let expected = 2 * (cost.attentionUs(layer: 0, tokens: 1) + min(21.536, copyUs(cost, rows: 1)) + cost.headUs)
        #expect(abs(cheaper.decodeUs - expected) < 1e-9)
    }

    @Test func aDecodeMissIsCopiedWhenTheHostIsSlower() throws {
        // host memory at 10 MB/s: 1536 B take 153.6 µs + 20 µs, far above the copy's ≈ 31.55 µs
        let hardware = host(bandwidth: 1e7)
        let cost = CostModel(hardware: hardware, footprint: tinyFootprint())
        #expect(cost.hostIsCheaper(layer: 0, expert: 1, rows: 1) == false)
        let calls = forwards([[[0]], [[1]], [[2]]])
        let (cheaper, _) = try run(.cheaper, slots: 1, calls, footprint: tinyFootprint(), hardware: hardware)
        let (cpu, _) = try run(.cpuCompute, slots: 1, calls, footprint: tinyFootprint(), hardware: hardware)
        #expect(cheaper.hostComputed == 0 && cheaper.transientMisses == 2 && cheaper.bytesTransferred == 2 * 1536)
        // the fixed expert 0 stays: nothing is stored, as in cpu-compute
        #expect(cheaper.evictions == 0 && cheaper.hits == cpu.hits && cheaper.misses == cpu.misses)
        let expected = 2 * (cost.attentionUs(layer: 0, tokens: 1) + min(153.6 + 20, copyUs(cost, rows: 1)) + cost.headUs)
        #expect(abs(cheaper.decodeUs - expected) < 1e-9)
        #expect(cheaper.decodeUs < cpu.decodeUs)
    }

    @Test func eachMissInOneStepTakesTheCheaperWay() throws {
        // a prefill of 17 tokens: 16 on expert 1 (host: 2 · 384 · 16 FLOPs = 12.288 µs + 20 µs > copy ≈ 31.55 µs)
        // and 1 on expert 2 (host 21.536 µs < copy): one of each, the layer's time the sum of the two minima
        let hardware = host(bandwidth: 1e9)
        let cost = CostModel(hardware: hardware, footprint: tinyFootprint())
        #expect(cost.hostIsCheaper(layer: 0, expert: 1, rows: 16) == false)
        #expect(cost.hostIsCheaper(layer: 0, expert: 2, rows: 1) == true)
        let prefill = Array(repeating: [1], count: 16) + [[2]]
        let (cheaper, _) = try run(.cheaper, slots: 1, forwards([prefill]), footprint: tinyFootprint(), hardware: hardware)
        #expect(cheaper.hostComputed == 1 && cheaper.transientMisses == 1 && cheaper.bytesTransferred == 1536)
        let host16 = cost.hostExpertUs(layer: 0, expert: 1, rows: 16)!, host1 = cost.hostExpertUs(layer: 0, expert: 2, rows: 1)!
        let expected = cost.attentionUs(layer: 0, tokens: 17) + min(host16, copyUs(cost, rows: 16)) + min(host1, copyUs(cost, rows: 1)) + cost.headUs
        #expect(abs(cheaper.prefillUs - expected) < 1e-9)
        // cpu-compute pays the host for both
        let (cpu, _) = try run(.cpuCompute, slots: 1, forwards([prefill]), footprint: tinyFootprint(), hardware: hardware)
        #expect(abs(cpu.prefillUs - (cost.attentionUs(layer: 0, tokens: 17) + host16 + host1 + cost.headUs)) < 1e-9)
    }

    @Test func theNameParsesAndNeedsAHostCPU() throws {
        #expect(try PolicySpec(name: "cheaper") == .cheaper)
        #expect(PolicySpec.cheaper.description == "cheaper" && PolicySpec.cheaper.computesMissesOnHost)
        #expect(!PolicySpec.all(prefetch: PrefetchSettings(experts: 1, lookahead: 1)).contains(.cheaper))
        #expect(throws: OffloadingError.noHostCPU(hardware: "round", policy: "cheaper")) {
            try run(.cheaper, slots: 1, forwards([[[0]]]), footprint: tinyFootprint())
        }
    }
}
