// One query's attention against the cached keys and values of one head (a decode step): the products
// `stridedMatMul` takes for one query row. Plain loops the compiler vectorises (AVX2 + FMA where the CPU
// has them); they run on the caller's thread — the engine spreads the heads over its kernel threads —
// where OpenBLAS's sgemv would wake its own threads once the context passes about 144 keys, which then
// spin in sched_yield for a while after each call and take the cores the kernel threads need.
#include "CKernels.h"

/// Lanes of the partial sums (one AVX2 vector).
#define LANES 8

static inline __attribute__((always_inline))
void scores(const float *keys, int count, int headDim, long rowStride, const float *q, float alpha, float *y) {
    for (int j = 0; j < count; j++) {
        const float *k = keys + (long)j * rowStride;
        float lanes[LANES] = {0};
        int c = 0;
        for (; c + LANES <= headDim; c += LANES) {
            for (int i = 0; i < LANES; i++) lanes[i] += q[c + i] * k[c + i];
        }
        float total = 0.0f;
        for (int i = 0; i < LANES; i++) total += lanes[i];
        for (; c < headDim; c++) total += q[c] * k[c];
        y[j] = alpha * total;
    }
}

static inline __attribute__((always_inline))
void weighted(const float *values, int count, int headDim, long rowStride, const float *p, float *out) {
    for (int c = 0; c < headDim; c++) out[c] = 0.0f;
    for (int j = 0; j < count; j++) {
        const float *v = values + (long)j * rowStride;
        for (int c = 0; c < headDim; c++) out[c] += p[j] * v[c];
    }
}

static void scores_generic(const float *keys, int count, int headDim, long rowStride, const float *q, float alpha, float *y) {
    scores(keys, count, headDim, rowStride, q, alpha, y);
}

static void weighted_generic(const float *values, int count, int headDim, long rowStride, const float *p, float *out) {
    weighted(values, count, headDim, rowStride, p, out);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void scores_avx2(const float *keys, int count, int headDim, long rowStride, const float *q, float alpha, float *y) {
    scores(keys, count, headDim, rowStride, q, alpha, y);
}

__attribute__((target("avx2,fma")))
static void weighted_avx2(const float *values, int count, int headDim, long rowStride, const float *p, float *out) {
    weighted(values, count, headDim, rowStride, p, out);
}

static int has_avx2(void) {
    static int hasAVX2 = -1;   // racing first calls all store the same value
    if (hasAVX2 < 0) hasAVX2 = ck_path_available(CK_PATH_AVX2);
    return hasAVX2;
}
#endif

void ck_query_scores(const float *keys, int count, int headDim, long rowStride, const float *q, float alpha, float *y) {
#if defined(__x86_64__)
    if (has_avx2()) return scores_avx2(keys, count, headDim, rowStride, q, alpha, y);
#endif
    scores_generic(keys, count, headDim, rowStride, q, alpha, y);
}

void ck_weighted_values(const float *values, int count, int headDim, long rowStride, const float *p, float *out) {
#if defined(__x86_64__)
    if (has_avx2()) return weighted_avx2(values, count, headDim, rowStride, p, out);
#endif
    weighted_generic(values, count, headDim, rowStride, p, out);
}
