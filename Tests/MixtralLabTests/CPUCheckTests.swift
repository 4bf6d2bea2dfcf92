import CPUFeatures
import Testing
@testable import mixtral_lab

/// The x86-64 feature check `main` makes before any kernel runs: one line naming what is missing.
struct CPUCheckTests {
    private func features(avx2: Bool = true, fma: Bool = true, f16c: Bool = true, os: Bool = true) -> MixtralLabCPUFeatures {
        MixtralLabCPUFeatures(avx2: avx2, fma: fma, f16c: f16c, osSavesAVX: os)
    }

    @Test func aHaswellOrNewerRuns() {
        #expect(unsupportedCPUMessage(features()) == nil)
    }

    @Test func thisMachineRunsTheTests() {
        // the tests themselves run the kernels compiled for these features
        #expect(unsupportedCPUMessage(mixtral_lab_cpu_features()) == nil)
    }

    @Test func eachMissingFeatureIsNamed() {
        #expect(unsupportedCPUMessage(features(avx2: false))?.hasPrefix("this processor lacks AVX2, which") == true)
        #expect(unsupportedCPUMessage(features(fma: false))?.hasPrefix("this processor lacks FMA, which") == true)
        #expect(unsupportedCPUMessage(features(f16c: false))?.hasPrefix("this processor lacks F16C, which") == true)
        // a Sandy/Ivy Bridge: AVX but none of the three
        let ivyBridge = unsupportedCPUMessage(features(avx2: false, fma: false, f16c: true))
        #expect(ivyBridge?.hasPrefix("this processor lacks AVX2, FMA, which") == true)
    }

    @Test func anOperatingSystemWithoutAVXStateIsNamed() {
        #expect(unsupportedCPUMessage(features(os: false))?.hasPrefix("the operating system does not enable AVX (XCR0)") == true)
    }

    @Test func theMessageIsOneLine() {
        let message = unsupportedCPUMessage(features(avx2: false, fma: false, f16c: false, os: false)) ?? ""
        #expect(!message.isEmpty && !message.contains("\n"))
    }
}
