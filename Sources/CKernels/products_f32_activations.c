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
// The AVX2 path reads a group of 8 rows as one stream, widening 8 code bytes at a time — 4 consecutive
// codes of two rows, as the interleaved layout stores them — and multiplying them with the token's 4
// matching values in both halves of a vector, so that each fp32 lane still runs one row's lane chain
// above without any transposing of code words; the scalar path is the fallback and the tests' reference.
// No multiply and add here may be fused other than the ones named (hence FP_CONTRACT OFF): they would
// change the bits.
#pragma STDC FP_CONTRACT OFF
#include <math.h>
#include <string.h>
#include "CKernels.h"
#include "products.h"

/// Row pairs × tokens computed per pass over a group's blocks (2 × 1 or 1 × 2): registers hold their 8
/// accumulators (per pair and token: lanes 0…3 and 4…7 of both rows, for even and for odd blocks).
#define PASS_PAIR_TOKENS 2

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

/// Elements 4c … 4c + 3 ("chunk" c, c < 8) of a block of two rows of a group, from the 8 bytes at `pair`
/// (the pair's words in the group block's vector of word c, CKernels.h): the first row's four in the low
/// half, the second's in the high half, as fp32 (Q4_0: without its offset). Q8_0's chunk c is word c;
/// Q4_0's is word c mod 4, low nibbles for c < 4, high ones after.
static inline __attribute__((always_inline, target(CK_TARGET)))
__m256 pair_chunk(const int isQ4, const uint8_t *pair, int c) {
    if (!isQ4) return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(pair + 32 * c))));
    const __m256i bytes = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(pair + 32 * (c & 3))));
    const __m256i codes = c < 4 ? _mm256_and_si256(bytes, _mm256_set1_epi32(15)) : _mm256_srli_epi32(bytes, 4);
    return _mm256_cvtepi32_ps(codes);
}

/// One group block (`at`, interleaved layout) of row pairs firstPair … firstPair + pairs − 1 (pair p: rows
/// 2p and 2p + 1 of the group) times `tokens` tokens, without transposing the code words. Lane j of a row
/// takes the elements j, j + 8, j + 16, j + 24: chunks (4 elements) q, 2 + q, 4 + q, 6 + q with q = j / 4.
/// So acc[(t · pairs + m) · 2 + q] continues lanes 4q … 4q + 3 of pair m's first row in its low half and of
/// its second row in its high half, for token t, each lane the same chain of the same operations as in
/// `block_step`. Q4_0's scaled block sums: e[t], row i in lane i. `xb`: token 0's 32 values of this block
/// (token t at xb + t · cols); `sums`: token 0's Σx of this block (token t at sums + t · blocks). Called
/// with the even blocks' accumulators and the odd blocks' in turn, so that both sets stay in registers.
static inline __attribute__((always_inline, target(CK_TARGET)))
void group_block(const int isQ4, const uint8_t *at, int firstPair, int pairs, int tokens, const float *xb, long cols,
                 const float *sums, int blocks, __m256 *acc, __m256 *e) {
    if (firstPair == 0) {
        // The next group's block b, into L2 while this group is read (pass 1) and read again from cache
        // (passes 2…): one address per 64 bytes of the stream, so every cache line gets one.
        const char *next = (const char *)at + (long)blocks * CK_GROUP_ROWS * (isQ4 ? 18 : 34);
        for (int line = 0; line < (isQ4 ? 3 : 5); line++) _mm_prefetch(next + 64 * line, _MM_HINT_T1);
    }
    const __m256 d8 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)at));   // the group's 8 scales
    for (int m = 0; m < pairs; m++) {
        const int p = firstPair + m;
        const uint8_t *pair = at + 16 + 8 * p;
        const __m256 d = _mm256_permutevar8x32_ps(d8, _mm256_setr_epi32(2 * p, 2 * p, 2 * p, 2 * p,
                                                                        2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1));
        for (int q = 0; q < 2; q++) {
            const __m256 w0 = pair_chunk(isQ4, pair, q), w1 = pair_chunk(isQ4, pair, 2 + q);
            const __m256 w2 = pair_chunk(isQ4, pair, 4 + q), w3 = pair_chunk(isQ4, pair, 6 + q);
            for (int t = 0; t < tokens; t++) {
                const float *xt = xb + t * cols + 4 * q;
                __m256 s0 = _mm256_mul_ps(w0, _mm256_broadcast_ps((const __m128 *)xt));
                __m256 s1 = _mm256_mul_ps(w1, _mm256_broadcast_ps((const __m128 *)(xt + 8)));
                s0 = _mm256_fmadd_ps(w2, _mm256_broadcast_ps((const __m128 *)(xt + 16)), s0);
                s1 = _mm256_fmadd_ps(w3, _mm256_broadcast_ps((const __m128 *)(xt + 24)), s1);
                __m256 *a = &acc[(t * pairs + m) * 2 + q];
                *a = _mm256_fmadd_ps(_mm256_add_ps(s0, s1), d, *a);
            }
        }
    }
    if (isQ4) {
        for (int t = 0; t < tokens; t++) e[t] = _mm256_fmadd_ps(d8, _mm256_set1_ps(sums[(long)t * blocks]), e[t]);
    }
}

/// Row pairs firstPair … firstPair + pairs − 1 of the group at `group` (interleaved layout; `blocks` group
/// blocks) times tokens t < `tokens` (x: `[tokens, cols]`, xBlockSums `[tokens, blocks]`), to the group's
/// rows of y (token t's row i at y[t · yStride + i]). pairs · tokens ≤ PASS_PAIR_TOKENS.
static inline __attribute__((always_inline, target(CK_TARGET)))
void group_pass(const int isQ4, const uint8_t *group, int blocks, int firstPair, int pairs, int tokens,
                const float *x, const float *xBlockSums, float *y, long yStride) {
    const int blockBytes = isQ4 ? 18 : 34, vectors = 2 * pairs * tokens;
    const long cols = 32L * blocks;
    __m256 even[2 * PASS_PAIR_TOKENS], odd[2 * PASS_PAIR_TOKENS], e0[PASS_PAIR_TOKENS], e1[PASS_PAIR_TOKENS];
    for (int v = 0; v < vectors; v++) even[v] = odd[v] = _mm256_setzero_ps();
    for (int t = 0; t < tokens; t++) e0[t] = e1[t] = _mm256_setzero_ps();
    int b = 0;
    for (; b + 1 < blocks; b += 2) {
        const uint8_t *at = group + (long)b * CK_GROUP_ROWS * blockBytes;
        group_block(isQ4, at, firstPair, pairs, tokens, x + 32L * b, cols, xBlockSums + b, blocks, even, e0);
        group_block(isQ4, at + CK_GROUP_ROWS * blockBytes, firstPair, pairs, tokens, x + 32L * (b + 1), cols,
                    xBlockSums + b + 1, blocks, odd, e1);
    }
    if (b < blocks) {
        group_block(isQ4, group + (long)b * CK_GROUP_ROWS * blockBytes, firstPair, pairs, tokens, x + 32L * b, cols,
                    xBlockSums + b, blocks, even, e0);
    }
    float evenLanes[2 * PASS_PAIR_TOKENS][8], oddLanes[2 * PASS_PAIR_TOKENS][8];
    for (int v = 0; v < vectors; v++) {
        _mm256_storeu_ps(evenLanes[v], even[v]);
        _mm256_storeu_ps(oddLanes[v], odd[v]);
    }
    for (int t = 0; t < tokens; t++) {
        float s0[8], s1[8];
        _mm256_storeu_ps(s0, e0[t]);
        _mm256_storeu_ps(s1, e1[t]);
        for (int m = 0; m < pairs; m++) {
            for (int second = 0; second < 2; second++) {
                // The pair's first row in the low halves of its two vectors (lanes 0…3, 4…7), the second in the high.
                const int v = (t * pairs + m) * 2, i = 2 * (firstPair + m) + second;
                float a0[8], a1[8];
                for (int j = 0; j < 4; j++) {
                    a0[j] = evenLanes[v][4 * second + j];
                    a0[j + 4] = evenLanes[v + 1][4 * second + j];
                    a1[j] = oddLanes[v][4 * second + j];
                    a1[j + 4] = oddLanes[v + 1][4 * second + j];
                }
                y[t * yStride + i] = finish(a0, a1, isQ4, s0[i], s1[i]);
            }
        }
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

/// Each group is computed for all n tokens in turn, so its bytes come from memory once per batch (then
/// from L1/L2: a group of 3584-column Q8_0 rows is 30 KiB): one token as two passes of two row pairs,
/// two tokens as four passes of one row pair (the pair's codes widened to fp32 once for both tokens).
static inline __attribute__((always_inline, target(CK_TARGET)))
void products_avx2(const int isQ4, const uint8_t *weights, int rows, int blocks, const float *x,
                   const float *xBlockSums, int n, float *y, long yStride) {
    const int blockBytes = isQ4 ? 18 : 34;
    const long cols = 32L * blocks, rowBytes = (long)blocks * blockBytes;
    const int wholeRows = rows / CK_GROUP_ROWS * CK_GROUP_ROWS;
    for (int r = 0; r < wholeRows; r += CK_GROUP_ROWS) {
        const uint8_t *group = weights + r * rowBytes;
        int t = 0;
        for (; t + 1 < n; t += 2) {
            for (int p = 0; p < CK_GROUP_ROWS / 2; p++) {
                group_pass(isQ4, group, blocks, p, 1, 2, x + t * cols, xBlockSums + (long)t * blocks, y + t * yStride + r, yStride);
            }
        }
        if (t < n) {
            for (int p = 0; p < CK_GROUP_ROWS / 2; p += 2) {
                group_pass(isQ4, group, blocks, p, 2, 1, x + t * cols, xBlockSums + (long)t * blocks, y + t * yStride + r, yStride);
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

/// The products of weights in the interleaved layout on `path`'s loops.
static void interleaved_products(ck_path path, int isQ4, const uint8_t *weights, int rows, int blocks, const float *x,
                                 const float *xBlockSums, int n, float *y, long yStride) {
#if defined(__x86_64__)
    if (use_avx2(path)) return (isQ4 ? q4_0_products_f32_avx2 : q8_0_products_f32_avx2)(weights, rows, blocks, x, xBlockSums, n, y, yStride);
#endif
    products_scalar(isQ4, weights, rows, blocks, x, xBlockSums, n, y, yStride);
}

/// One call's arguments, for the groups of `ck_for_each_interleaved_group`.
typedef struct {
    ck_path path;
    int isQ4, blocks, n;
    const float *x, *xBlockSums;
    float *y;
    long yStride;
} group_call;

static void group_products(void *context, const uint8_t *group, int count, int first) {
    const group_call *c = context;
    interleaved_products(c->path, c->isQ4, group, count, c->blocks, c->x, c->xBlockSums, c->n, c->y + first, c->yStride);
}

/// GGUF-layout weights go through the interleaved layout one group at a time (no fp32-activation loop
/// reads the GGUF layout directly yet: `--mmap-experts` in the full-size benchmark runs `--activations q8`).
static void products(ck_path path, ck_layout layout, int isQ4, const uint8_t *weights, int rows, int blocks, const float *x,
                     const float *xBlockSums, int n, float *y, long yStride) {
    if (layout == CK_LAYOUT_INTERLEAVED) return interleaved_products(path, isQ4, weights, rows, blocks, x, xBlockSums, n, y, yStride);
    group_call call = {path, isQ4, blocks, n, x, xBlockSums, y, yStride};
    ck_for_each_interleaved_group(isQ4 ? 18 : 34, weights, rows, blocks, group_products, &call);
}

void ck_q8_0_products_f32(ck_path path, ck_layout layout, const uint8_t *weights, int rows, int blocks, const float *x,
                          const float *xBlockSums, int n, float *y, long yStride) {
    products(path, layout, 0, weights, rows, blocks, x, xBlockSums, n, y, yStride);
}

void ck_q4_0_products_f32(ck_path path, ck_layout layout, const uint8_t *weights, int rows, int blocks, const float *x,
                          const float *xBlockSums, int n, float *y, long yStride) {
    products(path, layout, 1, weights, rows, blocks, x, xBlockSums, n, y, yStride);
}
