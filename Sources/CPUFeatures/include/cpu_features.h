#ifndef MIXTRAL_LAB_CPU_FEATURES_H
#define MIXTRAL_LAB_CPU_FEATURES_H

#include <stdbool.h>

/// The x86-64 features the Quantization target is compiled for (`-target-cpu haswell`), as this processor
/// and operating system provide them. On other architectures every field is true.
typedef struct {
    bool avx2;
    bool fma;
    bool f16c;
    /// The operating system saves the AVX registers (CPUID.1:ECX.OSXSAVE and XCR0 bits 1 and 2): without it
    /// AVX instructions fault even on a processor that has them.
    bool osSavesAVX;
} MixtralLabCPUFeatures;

/// Reads CPUID (leaf 1 and leaf 7) and XCR0. Compiled for baseline x86-64, so it runs on any processor.
MixtralLabCPUFeatures mixtral_lab_cpu_features(void);

#endif
