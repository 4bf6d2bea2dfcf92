import Foundation
import Testing
@testable import mixtral_lab
import Offloading

/// The probe warns when its decode kernels stream more bytes/s of weights than its memory pass measured, or
/// do more FLOP/s than its compute pass (the reviewer's profile: fp32 kernels at 37 GB/s, memory 4 GB/s,
/// unwarned) — a sign that one pass was slowed by other processes (review 8, finding 7).
struct ProbeConsistencyWarningTests {
    private func profile(memory: Double, compute: Double, fp32Rate: Double) -> HardwareProfile {
        HardwareProfile(name: "probe", fastMemoryBytes: 1 << 34, slowMemoryBytes: 1 << 36, computeFlops: compute,
                        memoryBandwidth: memory, linkBandwidth: 1e9, linkLatencyUs: 50,
                        decodeWeightsPerSecond: ["fp32": fp32Rate, "q4": fp32Rate / 2])
    }

    @Test func theReviewersProfileIsWarnedAbout() {
        let warnings = HardwareCommand.Probe.kernelsAboveRooflineWarnings(profile(memory: 4e9, compute: 2.4e9, fp32Rate: 9.3e9))
        #expect(warnings.count == 2, "\(warnings)")
        #expect(warnings.first?.hasPrefix("warning: the fp32 decode kernels read 37.2 GB/s of weights, above memory_bandwidth 4.0 GB/s") == true, "\(warnings)")
        #expect(warnings.last?.hasPrefix("warning: the fp32 decode kernels do 18.6 GFLOP/s, above compute_flops 2.4 GFLOP/s") == true, "\(warnings)")
    }

    @Test func aConsistentProfileIsNot() {
        #expect(HardwareCommand.Probe.kernelsAboveRooflineWarnings(profile(memory: 32e9, compute: 100e9, fp32Rate: 8.7e9)).isEmpty)
    }
}
