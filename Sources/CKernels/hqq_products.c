// HQQ weights (2, 3 or 4 bits, groups of g along a row, a scale s and a fractional zero-point z per group)
// times activations rounded to 8 bits per block of 32 (`--activations q8`): integer inner sums, the
// zero-point taken off with the activations' own code sums. The packed layout is HQQMatrix's (Swift):
//   4 bits: byte j of a group holds code j (low nibble) and code j + g/2 (high nibble);
//   2 bits: byte j holds codes j, j + g/4, j + g/2, j + 3g/4 in bits 0–1, 2–3, 4–5, 6–7;
//   3 bits: the low two bits as the 2-bit layout (g/4 bytes), then g/8 bytes whose bit i of byte j is the
//           third bit of code j + i·g/8.
//
// Arithmetic (every path the same bits): a group is split into segments of L = min(g, 32) values, each
// inside one activation block of scale d (g a multiple of 32, or 8 or 16). Per segment the exact integers
// I = Σ q·a and A = Σ a (a: the activation codes, A precomputed per token by `ck_code_sums`), then per group
//   dot = fma(d, I, dot), asum = fma(d, A, asum) over its segments in order, from 0,
//   y = fma(s, fma(−z, asum, dot), y) over the groups in order, from 0
// — i.e. y = Σ_g s_g · Σ_segments d · (I − z_g · A), the decoded weight (q − z)·s times the rounded
// activations. No other multiply and add may be fused (FP_CONTRACT OFF).
#pragma STDC FP_CONTRACT OFF
#include <math.h>
#include <string.h>
#include "CKernels.h"

/// Puts field `(byte >> shift) & mask` of each of `count` bytes at `in` into `out`: 8 bytes at a time as
/// one 64-bit word, the rest (groups of 8 or 16 have 2–4-byte quarters) byte by byte.
static inline void spread(const uint8_t *in, int count, int shift, uint8_t mask, uint8_t *out) {
    const uint64_t masks = mask * 0x0101010101010101ull;
    int j = 0;
    for (; j + 8 <= count; j += 8) {
        uint64_t v;
        memcpy(&v, in + j, 8);
        v = (v >> shift) & masks;
        memcpy(out + j, &v, 8);
    }
    for (; j < count; j++) out[j] = (uint8_t)((in[j] >> shift) & mask);
}

/// Adds bit i of each of `count` bytes at `in`, as 4, to the bytes at `out` (3-bit codes' third bit).
static inline void add_third_bit(const uint8_t *in, int count, int i, uint8_t *out) {
    int j = 0;
    for (; j + 8 <= count; j += 8) {
        uint64_t v, o;
        memcpy(&v, in + j, 8);
        memcpy(&o, out + j, 8);
        o |= ((v >> i) & 0x0101010101010101ull) << 2;
        memcpy(out + j, &o, 8);
    }
    for (; j < count; j++) out[j] |= (uint8_t)(((in[j] >> i) & 1) << 2);
}

void ck_hqq_unpack(int bits, int groupSize, const uint8_t *packed, int count, uint8_t *codes) {
    const int g = groupSize, groupBytes = g * bits / 8;
    for (int start = 0; start < count; start += g) {
        const uint8_t *in = packed + (long)start / g * groupBytes;
        uint8_t *out = codes + start;
        if (bits == 4) {
            spread(in, g / 2, 0, 15, out);
            spread(in, g / 2, 4, 15, out + g / 2);
            continue;
        }
        const int quarter = g / 4;
        for (int i = 0; i < 4; i++) spread(in, quarter, 2 * i, 3, out + i * quarter);
        if (bits == 3) {
            const int eighth = g / 8;
            for (int i = 0; i < 8; i++) add_third_bit(in + quarter, eighth, i, out + i * eighth);
        }
    }
}

void ck_code_sums(const int8_t *codes, long count, int segment, int32_t *sums) {
    for (long s = 0; s < count / segment; s++) {
        int32_t total = 0;
        for (int j = 0; j < segment; j++) total += codes[s * segment + j];
        sums[s] = total;
    }
}

/// The exact Σ q·a of each segment of `L` values of one row (q: unpacked codes, a: one token's codes),
/// `cols / L` of them to `dots`: plain C.
static void segment_dots_scalar(const uint8_t *q, const int8_t *a, int cols, int L, int32_t *dots) {
    for (int s = 0; s < cols / L; s++) {
        int32_t total = 0;
        for (int j = 0; j < L; j++) total += (int32_t)q[s * L + j] * a[s * L + j];
        dots[s] = total;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

/// The same with AVX2: per block of 32, `vpmaddubsw` (codes ≤ 15 unsigned times signed activations; pair
/// sums ≤ 2 · 15 · 127, no saturation) and `vpmaddwd` give 8 lanes of 4 products each; a segment's lanes are
/// added as integers (exact, in any order).
__attribute__((target("avx2")))
static void segment_dots_avx2(const uint8_t *q, const int8_t *a, int cols, int L, int32_t *dots) {
    const __m256i ones = _mm256_set1_epi16(1);
    for (int b = 0; b < cols / 32; b++) {
        const __m256i u = _mm256_loadu_si256((const __m256i *)(q + 32 * b));
        const __m256i s = _mm256_loadu_si256((const __m256i *)(a + 32 * b));
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), ones);
        // lanes 0…3 + 4…7, then pairs: the sums of 16, 8, 4 lanes' worth of values
        const __m128i halves = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
        if (L == 32) {
            const __m128i two = _mm_add_epi32(halves, _mm_unpackhi_epi64(halves, halves));
            dots[b] = _mm_cvtsi128_si32(two) + _mm_extract_epi32(two, 1);
        } else if (L == 16) {
            const __m128i lo = _mm256_castsi256_si128(p), hi = _mm256_extracti128_si256(p, 1);
            const __m128i pairs = _mm_hadd_epi32(lo, hi);       // l0+l1, l2+l3, l4+l5, l6+l7
            const __m128i quads = _mm_hadd_epi32(pairs, pairs); // l0…l3, l4…l7
            dots[2 * b] = _mm_cvtsi128_si32(quads);
            dots[2 * b + 1] = _mm_extract_epi32(quads, 1);
        } else {   // L == 8
            const __m128i lo = _mm256_castsi256_si128(p), hi = _mm256_extracti128_si256(p, 1);
            _mm_storeu_si128((__m128i *)(dots + 4 * b), _mm_hadd_epi32(lo, hi));
        }
    }
}
#endif

/// `ck_hqq_q8_products` with `segment_dots` the inner sums' implementation: the float combination is the
/// same code on every path (compiled with FMA where the path has it; fmaf's result is the same either way).
static inline __attribute__((always_inline))
void products(void (*segment_dots)(const uint8_t *, const int8_t *, int, int, int32_t *), const uint8_t *codes,
              int cols, int groupSize, const float *scales, const float *zeros, const int8_t *x, const float *xScales,
              const int32_t *xSums, int n, float *y, long yStride, int32_t *dots) {
    const int g = groupSize, L = g < 32 ? g : 32, segments = g / L, groups = cols / g;
    for (int t = 0; t < n; t++) {
        segment_dots(codes, x + (long)t * cols, cols, L, dots);
        const float *d = xScales + (long)t * (cols / 32);
        const int32_t *sums = xSums + (long)t * (cols / L);
        float total = 0.0f;
        for (int k = 0; k < groups; k++) {
            float dot = 0.0f, asum = 0.0f;
            for (int m = 0; m < segments; m++) {
                const int s = k * segments + m;
                const float scale = d[s * L / 32];
                dot = fmaf(scale, (float)dots[s], dot);
                asum = fmaf(scale, (float)sums[s], asum);
            }
            total = fmaf(scales[k], fmaf(-zeros[k], asum, dot), total);
        }
        y[t * yStride] = total;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void products_avx2(const uint8_t *codes, int cols, int groupSize, const float *scales, const float *zeros,
                          const int8_t *x, const float *xScales, const int32_t *xSums, int n, float *y, long yStride,
                          int32_t *dots) {
    products(segment_dots_avx2, codes, cols, groupSize, scales, zeros, x, xScales, xSums, n, y, yStride, dots);
}
#endif

void ck_hqq_q8_products(ck_path path, const uint8_t *codes, int cols, int groupSize, const float *scales,
                        const float *zeros, const int8_t *x, const float *xScales, const int32_t *xSums,
                        int n, float *y, long yStride, int32_t *dots) {
#if defined(__x86_64__)
    if ((path == CK_PATH_AVX2 || path == CK_PATH_AVX_VNNI) && ck_path_available(path)) {
        return products_avx2(codes, cols, groupSize, scales, zeros, x, xScales, xSums, n, y, yStride, dots);
    }
#else
    (void)path;
#endif
    products(segment_dots_scalar, codes, cols, groupSize, scales, zeros, x, xScales, xSums, n, y, yStride, dots);
}
