// The per-path product functions behind ck_q8_0_products / ck_q4_0_products (dispatch.c), and the fp16
// scale reader they share. Internal to the CKernels target.
#ifndef CKERNELS_PRODUCTS_H
#define CKERNELS_PRODUCTS_H

#include <stdint.h>
#include <string.h>

#define CK_PRODUCTS(name) \
    void name(const uint8_t *weights, int rows, int blocks, const int8_t *codes, const float *scales, \
              const int32_t *sums, int n, float *y, long yStride)

CK_PRODUCTS(ck_q8_0_products_scalar);
CK_PRODUCTS(ck_q4_0_products_scalar);
#if defined(__x86_64__)
/// The x86-64 paths read both layouts (`gguf`: 1 for CK_LAYOUT_GGUF).
#define CK_PRODUCTS_X86(name) \
    void name(int gguf, const uint8_t *weights, int rows, int blocks, const int8_t *codes, const float *scales, \
              const int32_t *sums, int n, float *y, long yStride)
CK_PRODUCTS_X86(ck_q8_0_products_avx2);
CK_PRODUCTS_X86(ck_q4_0_products_avx2);
CK_PRODUCTS_X86(ck_q8_0_products_avxvnni);
CK_PRODUCTS_X86(ck_q4_0_products_avxvnni);
#endif
#if defined(__aarch64__)
CK_PRODUCTS(ck_q8_0_products_neon_dot);
CK_PRODUCTS(ck_q4_0_products_neon_dot);
#endif

/// Rows per group of the interleaved layout (CKernels.h).
#define CK_GROUP_ROWS 8

/// One group block of the interleaved layout (8 · blockBytes bytes at `out`) from the GGUF-layout blocks
/// `block[0…7]` of the group's 8 rows (interleave.c).
void ck_interleave_block(int blockBytes, const uint8_t *const block[CK_GROUP_ROWS], uint8_t *out);

/// For the paths that read only the interleaved layout, weights in the GGUF layout (`rows` rows of `blocks`
/// blocks at `weights`): `apply(context, group, count, first)` for each whole group of 8 rows put into the
/// interleaved layout in a buffer (count 8, first its first row), then for the rows after the last whole
/// group as they are (the interleaved layout stores those as in GGUF). Aborts if the 8-row buffer cannot be
/// allocated (at most 8 rows of one weight).
void ck_for_each_interleaved_group(int blockBytes, const uint8_t *weights, int rows, int blocks,
                                   void (*apply)(void *context, const uint8_t *group, int count, int first), void *context);

/// Row r's block b in the GGUF layout (fp16 scale, then codes: `blockBytes` bytes to `out`), for a row r
/// of a whole group of the interleaved layout (r < rows rounded down to a multiple of 8).
static inline void ck_gguf_block(int blockBytes, const uint8_t *weights, int blocks, int r, int b, uint8_t *out) {
    const uint8_t *group = weights + ((long)(r / CK_GROUP_ROWS) * blocks + b) * CK_GROUP_ROWS * blockBytes;
    const int i = r % CK_GROUP_ROWS, words = (blockBytes - 2) / 4;
    memcpy(out, group + 2 * i, 2);
    for (int k = 0; k < words; k++) memcpy(out + 2 + 4 * k, group + 16 + 32 * k + 4 * i, 4);
}

/// Row r's block b in the GGUF layout, from weights in the interleaved layout: a pointer into `weights`
/// for the rows past the last whole group (stored as in GGUF), else the block gathered into `buffer`
/// (`blockBytes` bytes).
static inline const uint8_t *ck_row_block(int blockBytes, const uint8_t *weights, int rows, int blocks, int r, int b,
                                          uint8_t *buffer) {
    if (r >= rows / CK_GROUP_ROWS * CK_GROUP_ROWS) return weights + ((long)r * blocks + b) * blockBytes;
    ck_gguf_block(blockBytes, weights, blocks, r, b, buffer);
    return buffer;
}

/// A block's little-endian fp16 scale (its first two bytes) as fp32, exactly (IEEE 754 binary16).
static inline float ck_fp16_to_fp32(const uint8_t *block) {
    const uint32_t h = (uint32_t)block[0] | (uint32_t)block[1] << 8;
    const uint32_t sign = (h & 0x8000u) << 16, exponent = (h >> 10) & 31, fraction = h & 1023;
    float value;
    if (exponent == 0) {                        // zero or subnormal: fraction · 2⁻²⁴
        value = (float)fraction * 0x1p-24f;
    } else {                                    // normal, or Inf/NaN (exponent 31 → 255)
        const uint32_t bits = (exponent == 31 ? 255u << 23 : (exponent + 112) << 23) | fraction << 13;
        memcpy(&value, &bits, 4);
    }
    uint32_t bits;
    memcpy(&bits, &value, 4);
    bits |= sign;
    memcpy(&value, &bits, 4);
    return value;
}

#endif
