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
CK_PRODUCTS(ck_q8_0_products_avx2);
CK_PRODUCTS(ck_q4_0_products_avx2);
CK_PRODUCTS(ck_q8_0_products_avxvnni);
CK_PRODUCTS(ck_q4_0_products_avxvnni);
#endif
#if defined(__aarch64__)
CK_PRODUCTS(ck_q8_0_products_neon_dot);
CK_PRODUCTS(ck_q4_0_products_neon_dot);
#endif

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
