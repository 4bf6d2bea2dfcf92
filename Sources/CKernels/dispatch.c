// Which product path runs: chosen by the caller (tests run each), normally `ck_best_path()`, with the
// CPU's features read at run time so that one binary runs everywhere.
#include "CKernels.h"
#include "products.h"
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#include <asm/hwcap.h>
#endif

int ck_path_available(ck_path path) {
    switch (path) {
    case CK_PATH_SCALAR:
        return 1;
#if defined(__x86_64__)
    case CK_PATH_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case CK_PATH_AVX_VNNI:
        return ck_path_available(CK_PATH_AVX2) && __builtin_cpu_supports("avxvnni");
#endif
#if defined(__aarch64__) && defined(__APPLE__)
    case CK_PATH_NEON_DOT:
        return 1;                               // every Apple arm64 CPU has the dot-product extension
#elif defined(__aarch64__) && defined(__linux__)
    case CK_PATH_NEON_DOT:
        return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
    default:
        return 0;
    }
}

ck_path ck_best_path(void) {
    static const ck_path preference[] = {CK_PATH_AVX_VNNI, CK_PATH_AVX2, CK_PATH_NEON_DOT};
    for (unsigned i = 0; i < sizeof preference / sizeof preference[0]; i++) {
        if (ck_path_available(preference[i])) return preference[i];
    }
    return CK_PATH_SCALAR;
}

/// The products of weights in the interleaved layout on `path`.
static void interleaved_products(ck_path path, int isQ4, const uint8_t *weights, int rows, int blocks, const int8_t *codes,
                                 const float *scales, const int32_t *sums, int n, float *y, long yStride) {
    switch (path) {
#if defined(__x86_64__)
    case CK_PATH_AVX2:
        return (isQ4 ? ck_q4_0_products_avx2 : ck_q8_0_products_avx2)(0, weights, rows, blocks, codes, scales, sums, n, y, yStride);
    case CK_PATH_AVX_VNNI:
        return (isQ4 ? ck_q4_0_products_avxvnni : ck_q8_0_products_avxvnni)(0, weights, rows, blocks, codes, scales, sums, n, y, yStride);
#endif
#if defined(__aarch64__)
    case CK_PATH_NEON_DOT:
        return (isQ4 ? ck_q4_0_products_neon_dot : ck_q8_0_products_neon_dot)(weights, rows, blocks, codes, scales, sums, n, y, yStride);
#endif
    default:
        return (isQ4 ? ck_q4_0_products_scalar : ck_q8_0_products_scalar)(weights, rows, blocks, codes, scales, sums, n, y, yStride);
    }
}

/// One call's arguments, for the groups of `ck_for_each_interleaved_group`.
typedef struct {
    ck_path path;
    int isQ4, blocks, n;
    const int8_t *codes;
    const float *scales;
    const int32_t *sums;
    float *y;
    long yStride;
} group_call;

static void group_products(void *context, const uint8_t *group, int count, int first) {
    const group_call *c = context;
    interleaved_products(c->path, c->isQ4, group, count, c->blocks, c->codes, c->scales, c->sums, c->n, c->y + first, c->yStride);
}

static void products(ck_path path, ck_layout layout, int isQ4, const uint8_t *weights, int rows, int blocks, const int8_t *codes,
                     const float *scales, const int32_t *sums, int n, float *y, long yStride) {
    if (layout == CK_LAYOUT_INTERLEAVED) return interleaved_products(path, isQ4, weights, rows, blocks, codes, scales, sums, n, y, yStride);
#if defined(__x86_64__)
    // the x86-64 vector paths read the GGUF layout directly
    if (path == CK_PATH_AVX2) return (isQ4 ? ck_q4_0_products_avx2 : ck_q8_0_products_avx2)(1, weights, rows, blocks, codes, scales, sums, n, y, yStride);
    if (path == CK_PATH_AVX_VNNI) return (isQ4 ? ck_q4_0_products_avxvnni : ck_q8_0_products_avxvnni)(1, weights, rows, blocks, codes, scales, sums, n, y, yStride);
#endif
    group_call call = {path, isQ4, blocks, n, codes, scales, sums, y, yStride};
    ck_for_each_interleaved_group(isQ4 ? 18 : 34, weights, rows, blocks, group_products, &call);
}

void ck_q8_0_products(ck_path path, ck_layout layout, const uint8_t *weights, int rows, int blocks, const int8_t *codes,
                      const float *scales, const int32_t *sums, int n, float *y, long yStride) {
    products(path, layout, 0, weights, rows, blocks, codes, scales, sums, n, y, yStride);
}

void ck_q4_0_products(ck_path path, ck_layout layout, const uint8_t *weights, int rows, int blocks, const int8_t *codes,
                      const float *scales, const int32_t *sums, int n, float *y, long yStride) {
    products(path, layout, 1, weights, rows, blocks, codes, scales, sums, n, y, yStride);
}
