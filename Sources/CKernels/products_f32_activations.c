// Q8_0/Q4_0 weights (interleaved layout, CKernels.h) times fp32 activations: the default and reference
// path (`--activations fp32`), where the weights are decoded and multiplied with the exact activations.
// Most of the time of an int8/q4 run with fp32 activations is spent here.
//
// The arithmetic, per row and token (`ck_q8_0_products_f32` in CKernels.h), is the one the Swift row
// kernel on the GGUF layout used before the interleaved layout (GGMLMatrix `dotRowBlockByBlock`), so the
// results are the same bits: eight fp32 lanes, lane j covering elements j, j + 8, j + 16, j + 24 of each
// block; per block s0 = w[j]·x[j], s1 = w[j+8]·x[j+8] (rounded products), s0 = fma(w[j+16], x[j+16], s0),
// s1 = fma(w[j+24], x[j+24], s1), then acc_p = fma(s0 + s1, d, acc_p) with p the block's parity (even
// and odd blocks in two accumulators); Q4_0 also sums e_p = fma(d, Σx_b, e_p) and takes 8·(e_0 + e_1)
// off lane 0 of acc_0 + acc_1 (its codes are stored without the −8). The result is the lanes added as
// (l0 + l4) + (l2 + l6) and (l1 + l5) + (l3 + l7): ((h0 + h2) + (h1 + h3)) with h = low half + high half.
// The AVX2 path reads a group of 8 rows as one stream and computes 4 rows per pass; the scalar path is
// the fallback and the tests' reference. No multiply and add here may be fused other than the ones named
// (hence FP_CONTRACT OFF): they would change the bits.
#pragma STDC FP_CONTRACT OFF
#include <math.h>
#include <string.h>
#include "CKernels.h"
#include "products.h"

/// Rows computed per pass over a group's blocks (half a group: registers hold 4 rows' two accumulators).
#define PASS_ROWS 4

/// The finish of one row: acc_0 + acc_1, Q4_0's offset off lane 0, the lanes added in the fixed order.
static inline float finish(const float acc0[8], const float acc1[8], const int isQ4, const float e0, const float e1) {
    float total[8];
    for (int j = 0; j < 8; j++) total[j] = acc0[j] + acc1[j];
    if (isQ4) {
        const float offset = 8.0f * (e0 + e1);
        total[0] = total[0] - offset;
    }
    float h[4];
    for (int j = 0; j < 4; j++) h[j] = total[j] + total[j + 4];
    return (h[0] + h[2]) + (h[1] + h[3]);
}

/// The 32 codes of row r's block b as fp32, without Q4_0's offset (element j < 16 of Q4_0 the low
/// nibble of code byte j, element j + 16 its high nibble), and its scale d.
static inline float scalar_codes(const int isQ4, const uint8_t *weights, int rows, int blocks, int r, int b, float w[32]) {
    uint8_t buffer[34];
    const uint8_t *block = ck_row_block(isQ4 ? 18 : 34, weights, rows, blocks, r, b, buffer);
    if (isQ4) {
        for (int j = 0; j < 16; j++) {
            w[j] = (float)(block[2 + j] & 15);
            w[j + 16] = (float)(block[2 + j] >> 4);
        }
    } else {
        for (int j = 0; j < 32; j++) w[j] = (float)(int8_t)block[2 + j];
    }
    return ck_fp16_to_fp32(block);
}

static void products_scalar(const int isQ4, const uint8_t *weights, int rows, int blocks, const float *x,
                            const float *xBlockSums, int n, float *y, long yStride) {
    const long cols = 32L * blocks;
    for (int r = 0; r < rows; r++) {
        for (int t = 0; t < n; t++) {
            const float *xt = x + t * cols;
            float acc[2][8] = {{0}}, e[2] = {0, 0}, w[32];
            for (int b = 0; b < blocks; b++) {
                const float d = scalar_codes(isQ4, weights, rows, blocks, r, b, w);
                const float *xb = xt + 32L * b;
                const int p = b & 1;
                for (int j = 0; j < 8; j++) {
                    float s0 = w[j] * xb[j];
                    float s1 = w[j + 8] * xb[j + 8];
                    s0 = fmaf(w[j + 16], xb[j + 16], s0);
                    s1 = fmaf(w[j + 24], xb[j + 24], s1);
                    acc[p][j] = fmaf(s0 + s1, d, acc[p][j]);
                }
                if (isQ4) e[p] = fmaf(d, xBlockSums[(long)t * blocks + b], e[p]);
            }
            y[t * yStride + r] = finish(acc[0], acc[1], isQ4, e[0], e[1]);
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define CK_TARGET "avx2,fma,f16c"

/// One block of one row: `bytes` its code bytes as stored (Q4_0: the 16 nibble bytes in `a`; Q8_0:
/// codes 0…15 in `a`, 16…31 in `c`), `d` its scale broadcast, `xb` the token's 32 values.
static inline __attribute__((always_inline, target(CK_TARGET)))
__m256 block_step(const int isQ4, __m128i a, __m128i c, __m256 d, const float *xb, __m256 acc) {
    __m128i q0, q1;   // elements 0…15, 16…31 as bytes
    if (isQ4) {
        const __m128i low4 = _mm_set1_epi8(15);
        q0 = _mm_and_si128(a, low4);
        q1 = _mm_and_si128(_mm_srli_epi16(a, 4), low4);
    } else {
        q0 = a;
        q1 = c;
    }
    __m256 w0, w1, w2, w3;
    if (isQ4) {
        w0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q0));
        w1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(q0, 8)));
        w2 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q1));
        w3 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(q1, 8)));
    } else {
        w0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q0));
        w1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q0, 8)));
        w2 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q1));
        w3 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q1, 8)));
    }
    __m256 s0 = _mm256_mul_ps(w0, _mm256_loadu_ps(xb));
    __m256 s1 = _mm256_mul_ps(w1, _mm256_loadu_ps(xb + 8));
    s0 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(xb + 16), s0);
    s1 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(xb + 24), s1);
    return _mm256_fmadd_ps(_mm256_add_ps(s0, s1), d, acc);
}

/// The 4×4 transpose of 32-bit elements: v[i] = word i of rows 0…3 becomes row i's words 0…3.
static inline __attribute__((always_inline, target(CK_TARGET)))
void transpose_words(__m128i v[4]) {
    const __m128i t0 = _mm_unpacklo_epi32(v[0], v[1]), t1 = _mm_unpackhi_epi32(v[0], v[1]);
    const __m128i t2 = _mm_unpacklo_epi32(v[2], v[3]), t3 = _mm_unpackhi_epi32(v[2], v[3]);
    v[0] = _mm_unpacklo_epi64(t0, t2);
    v[1] = _mm_unpackhi_epi64(t0, t2);
    v[2] = _mm_unpacklo_epi64(t1, t3);
    v[3] = _mm_unpackhi_epi64(t1, t3);
}

/// Block b of rows 4h … 4h + 3 of the group at `group` (interleaved layout): acc[i] continued for row i,
/// and Q4_0's scaled block sums `e` (row i in lane i). Called with the even blocks' accumulators and the
/// odd blocks' in turn, so that both sets stay in registers.
static inline __attribute__((always_inline, target(CK_TARGET)))
void group_block(const int isQ4, const uint8_t *group, int b, int h, const float *x, const float *xBlockSums,
                 __m256 acc[PASS_ROWS], __m128 *e) {
    const int blockBytes = isQ4 ? 18 : 34;
    const uint8_t *at = group + (long)b * CK_GROUP_ROWS * blockBytes;
    _mm_prefetch((const char *)at + 1024, _MM_HINT_T0);
    const __m128 d4 = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(at + 8 * h)));
    __m128i lo[4], hi[4];
    for (int k = 0; k < 4; k++) lo[k] = _mm_loadu_si128((const __m128i *)(at + 16 + 32 * k + 16 * h));
    transpose_words(lo);
    if (!isQ4) {
        for (int k = 0; k < 4; k++) hi[k] = _mm_loadu_si128((const __m128i *)(at + 16 + 32 * (k + 4) + 16 * h));
        transpose_words(hi);
    } else {
        for (int k = 0; k < 4; k++) hi[k] = lo[k];
    }
    const float *xb = x + 32L * b;
    const __m256 d8 = _mm256_castps128_ps256(d4);
    acc[0] = block_step(isQ4, lo[0], hi[0], _mm256_permute_ps(_mm256_permute2f128_ps(d8, d8, 0), 0x00), xb, acc[0]);
    acc[1] = block_step(isQ4, lo[1], hi[1], _mm256_permute_ps(_mm256_permute2f128_ps(d8, d8, 0), 0x55), xb, acc[1]);
    acc[2] = block_step(isQ4, lo[2], hi[2], _mm256_permute_ps(_mm256_permute2f128_ps(d8, d8, 0), 0xAA), xb, acc[2]);
    acc[3] = block_step(isQ4, lo[3], hi[3], _mm256_permute_ps(_mm256_permute2f128_ps(d8, d8, 0), 0xFF), xb, acc[3]);
    if (isQ4) *e = _mm_fmadd_ps(d4, _mm_set1_ps(xBlockSums[b]), *e);
}

/// Rows 4h … 4h + 3 of the group at `group` (interleaved layout) times one token `x`, to `out[0…3]`.
static inline __attribute__((always_inline, target(CK_TARGET)))
void half_group(const int isQ4, const uint8_t *group, int blocks, int h, const float *x, const float *xBlockSums,
                float out[PASS_ROWS]) {
    __m256 even[PASS_ROWS], odd[PASS_ROWS];
    for (int i = 0; i < PASS_ROWS; i++) even[i] = odd[i] = _mm256_setzero_ps();
    __m128 e0 = _mm_setzero_ps(), e1 = _mm_setzero_ps();
    int b = 0;
    for (; b + 1 < blocks; b += 2) {
        group_block(isQ4, group, b, h, x, xBlockSums, even, &e0);
        group_block(isQ4, group, b + 1, h, x, xBlockSums, odd, &e1);
    }
    if (b < blocks) group_block(isQ4, group, b, h, x, xBlockSums, even, &e0);
    float s0[PASS_ROWS], s1[PASS_ROWS];
    _mm_storeu_ps(s0, e0);
    _mm_storeu_ps(s1, e1);
    for (int i = 0; i < PASS_ROWS; i++) {
        float a0[8], a1[8];
        _mm256_storeu_ps(a0, even[i]);
        _mm256_storeu_ps(a1, odd[i]);
        out[i] = finish(a0, a1, isQ4, s0[i], s1[i]);
    }
}

/// Block b of one row in the GGUF layout (`row`: `blocks` blocks): acc and Q4_0's scaled sum e continued.
static inline __attribute__((always_inline, target(CK_TARGET)))
void gguf_block(const int isQ4, const uint8_t *row, int b, const float *x, const float *xBlockSums, __m256 *acc, float *e) {
    const uint8_t *block = row + (long)b * (isQ4 ? 18 : 34);
    const float d = ck_fp16_to_fp32(block);
    const __m128i a = _mm_loadu_si128((const __m128i *)(block + 2));
    const __m128i c = isQ4 ? a : _mm_loadu_si128((const __m128i *)(block + 18));
    *acc = block_step(isQ4, a, c, _mm256_set1_ps(d), x + 32L * b, *acc);
    if (isQ4) *e = fmaf(d, xBlockSums[b], *e);
}

/// One row in the GGUF layout (`row`: `blocks` blocks) times one token.
static inline __attribute__((always_inline, target(CK_TARGET)))
float gguf_row(const int isQ4, const uint8_t *row, int blocks, const float *x, const float *xBlockSums) {
    __m256 even = _mm256_setzero_ps(), odd = _mm256_setzero_ps();
    float e0 = 0, e1 = 0;
    int b = 0;
    for (; b + 1 < blocks; b += 2) {
        gguf_block(isQ4, row, b, x, xBlockSums, &even, &e0);
        gguf_block(isQ4, row, b + 1, x, xBlockSums, &odd, &e1);
    }
    if (b < blocks) gguf_block(isQ4, row, b, x, xBlockSums, &even, &e0);
    float a0[8], a1[8];
    _mm256_storeu_ps(a0, even);
    _mm256_storeu_ps(a1, odd);
    return finish(a0, a1, isQ4, e0, e1);
}

/// Each half group is computed for all n tokens in turn, so its bytes come from memory once per batch
/// (then from L1/L2: a half group of a 3584-column Q8_0 row is 15 KiB).
static inline __attribute__((always_inline, target(CK_TARGET)))
void products_avx2(const int isQ4, const uint8_t *weights, int rows, int blocks, const float *x,
                   const float *xBlockSums, int n, float *y, long yStride) {
    const int blockBytes = isQ4 ? 18 : 34;
    const long cols = 32L * blocks, rowBytes = (long)blocks * blockBytes;
    const int wholeRows = rows / CK_GROUP_ROWS * CK_GROUP_ROWS;
    for (int r = 0; r < wholeRows; r += CK_GROUP_ROWS) {
        for (int h = 0; h < 2; h++) {
            for (int t = 0; t < n; t++) {
                float out[PASS_ROWS];
                half_group(isQ4, weights + r * rowBytes, blocks, h, x + t * cols, xBlockSums + (long)t * blocks, out);
                for (int i = 0; i < PASS_ROWS; i++) y[t * yStride + r + PASS_ROWS * h + i] = out[i];
            }
        }
    }
    for (int r = wholeRows; r < rows; r++) {
        for (int t = 0; t < n; t++) {
            y[t * yStride + r] = gguf_row(isQ4, weights + r * rowBytes, blocks, x + t * cols, xBlockSums + (long)t * blocks);
        }
    }
}

__attribute__((target(CK_TARGET)))
static void q8_0_products_f32_avx2(const uint8_t *weights, int rows, int blocks, const float *x,
                                   const float *xBlockSums, int n, float *y, long yStride) {
    products_avx2(0, weights, rows, blocks, x, xBlockSums, n, y, yStride);
}

__attribute__((target(CK_TARGET)))
static void q4_0_products_f32_avx2(const uint8_t *weights, int rows, int blocks, const float *x,
                                   const float *xBlockSums, int n, float *y, long yStride) {
    products_avx2(1, weights, rows, blocks, x, xBlockSums, n, y, yStride);
}
#endif

/// AVX2 for the x86-64 paths (AVX-VNNI adds nothing to fp32 products), else the scalar loops.
static int use_avx2(ck_path path) {
#if defined(__x86_64__)
    return (path == CK_PATH_AVX2 || path == CK_PATH_AVX_VNNI) && ck_path_available(path);
#else
    (void)path;
    return 0;
#endif
}

void ck_q8_0_products_f32(ck_path path, const uint8_t *weights, int rows, int blocks, const float *x,
                          const float *xBlockSums, int n, float *y, long yStride) {
#if defined(__x86_64__)
    if (use_avx2(path)) return q8_0_products_f32_avx2(weights, rows, blocks, x, xBlockSums, n, y, yStride);
#endif
    products_scalar(0, weights, rows, blocks, x, xBlockSums, n, y, yStride);
}

void ck_q4_0_products_f32(ck_path path, const uint8_t *weights, int rows, int blocks, const float *x,
                          const float *xBlockSums, int n, float *y, long yStride) {
#if defined(__x86_64__)
    if (use_avx2(path)) return q4_0_products_f32_avx2(weights, rows, blocks, x, xBlockSums, n, y, yStride);
#endif
    products_scalar(1, weights, rows, blocks, x, xBlockSums, n, y, yStride);
}
