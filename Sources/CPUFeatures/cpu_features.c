#include "cpu_features.h"

#if defined(__x86_64__)
#include <cpuid.h>

// Bits from the Intel 64 and IA-32 Architectures Software Developer's Manual, vol. 2A, CPUID:
// leaf 1 ECX: FMA bit 12, OSXSAVE bit 27, AVX bit 28, F16C bit 29; leaf 7 subleaf 0 EBX: AVX2 bit 5.
// XCR0 (XGETBV with ECX = 0): bit 1 SSE state, bit 2 AVX state (vol. 1, section 13.3).
MixtralLabCPUFeatures mixtral_lab_cpu_features(void) {
    MixtralLabCPUFeatures features = {false, false, false, false};
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return features;
    bool osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
    features.fma = (ecx >> 12) & 1;
    features.f16c = (ecx >> 29) & 1;
    if (osxsave && avx) {
        unsigned int xcr0_low, xcr0_high;
        __asm__ volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
        features.osSavesAVX = (xcr0_low & 0x6) == 0x6;
    }
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) features.avx2 = (ebx >> 5) & 1;
    return features;
}
#else
MixtralLabCPUFeatures mixtral_lab_cpu_features(void) {
    MixtralLabCPUFeatures features = {true, true, true, true};
    return features;
}
#endif
