import CPUFeatures

/// The one line `mixtral-lab` prints (then exits 2) on an x86-64 processor without what the Quantization
/// target is compiled for (`-target-cpu haswell` in Package.swift: AVX2, FMA and F16C, with the operating
/// system saving the AVX registers) — instead of dying with an illegal instruction inside a kernel. nil
/// when everything is there (always on other architectures).
func unsupportedCPUMessage(_ features: MixtralLabCPUFeatures) -> String? {
    var missing: [String] = []
    if !features.avx2 { missing.append("AVX2") }
    if !features.fma { missing.append("FMA") }
    if !features.f16c { missing.append("F16C") }
    if missing.isEmpty && features.osSavesAVX { return nil }
    let what = missing.isEmpty ? "the operating system does not enable AVX (XCR0)"
                               : "this processor lacks \(missing.joined(separator: ", "))"
    return "\(what), which mixtral-lab's int8/q4 kernels are compiled for (x86-64 with AVX2, FMA and F16C: Intel Haswell, AMD Excavator/Zen and later); this build cannot run here"
}
