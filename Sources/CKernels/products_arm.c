// Most of the time of a q8-activation run on ARM64 is spent here: Q8_0/Q4_0 weight blocks times 8-bit
// activation blocks with `sdot` (ARMv8.2 dot-product extension: 4 int32 lanes, each the sum of 4
// int8·int8 products). Per block and token: two `sdot`s of 16 bytes, a conversion to fp32 and a fused
// multiply-add by d_w · d_x. Q4_0's nibbles are unpacked once per block and shifted to −8…7, so the
// integer sum is Σ (q − 8)·x directly, the same as every other path's.
#if defined(__aarch64__)
#include <arm_neon.h>
#include "products.h"

static inline __attribute__((always_inline, target("dotprod")))
int32x4_t block_sum(const int isQ4, const uint8_t *block, const int8_t *x) {
    int8x16_t low, high;
    if (isQ4) {
        const uint8x16_t packed = vld1q_u8(block + 2);
        low = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(packed, vdupq_n_u8(15))), vdupq_n_s8(8));
        high = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(packed, 4)), vdupq_n_s8(8));
    } else {
        low = vld1q_s8((const int8_t *)block + 2);
        high = vld1q_s8((const int8_t *)block + 18);
    }
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), low, vld1q_s8(x)), high, vld1q_s8(x + 16));
}

static inline __attribute__((always_inline, target("dotprod")))
void products(const int isQ4, const uint8_t *weights, int rows, int blocks, const int8_t *codes,
              const float *scales, int n, float *y, long yStride) {
    const long blockBytes = isQ4 ? 18 : 34;
    for (int r = 0; r < rows; r++) {
        const uint8_t *row = weights + r * blocks * blockBytes;
        for (int t = 0; t < n; t++) {
            const int8_t *x = codes + (long)t * blocks * 32;
            const float *dx = scales + (long)t * blocks;
            float32x4_t even = vdupq_n_f32(0), odd = vdupq_n_f32(0);
            int b = 0;
            for (; b + 1 < blocks; b += 2) {
                const uint8_t *block = row + b * blockBytes;
                even = vfmaq_f32(even, vcvtq_f32_s32(block_sum(isQ4, block, x + 32 * b)),
                                 vdupq_n_f32(ck_fp16_to_fp32(block) * dx[b]));
                block += blockBytes;
                odd = vfmaq_f32(odd, vcvtq_f32_s32(block_sum(isQ4, block, x + 32 * (b + 1))),
                                vdupq_n_f32(ck_fp16_to_fp32(block) * dx[b + 1]));
            }
            if (b < blocks) {
                const uint8_t *block = row + b * blockBytes;
                even = vfmaq_f32(even, vcvtq_f32_s32(block_sum(isQ4, block, x + 32 * b)),
                                 vdupq_n_f32(ck_fp16_to_fp32(block) * dx[b]));
            }
            y[t * yStride + r] = vaddvq_f32(vaddq_f32(even, odd));
        }
    }
}

__attribute__((target("dotprod")))
CK_PRODUCTS(ck_q8_0_products_neon_dot) {
    (void)sums;
    products(0, weights, rows, blocks, codes, scales, n, y, yStride);
}

__attribute__((target("dotprod")))
CK_PRODUCTS(ck_q4_0_products_neon_dot) {
    (void)sums;
    products(1, weights, rows, blocks, codes, scales, n, y, yStride);
}
#endif
