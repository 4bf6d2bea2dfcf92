// Most of the time of a q8-activation run on ARM64 is spent here: Q8_0/Q4_0 weight blocks times 8-bit
// activation blocks with `sdot` (ARMv8.2 dot-product extension: 4 int32 lanes, each the sum of 4
// int8·int8 products). Rows go in groups of 4: per token and block, two `sdot`s per row give 4 lanes of
// partial sums, two pairwise additions (`addp`) put the 4 rows' exact sums S in the lanes of one vector,
// and `acc = fma(float(S), d_w · d_x, acc)` continues each row's chain over the blocks in order — the
// arithmetic of products_scalar.c, bit for bit. Q4_0's nibbles are shifted to −8…7 before the `sdot`.
// Each row's blocks are gathered from the interleaved layout (CKernels.h) back to GGUF blocks first: not
// yet a kernel that reads the layout's vectors directly (no ARM CPU was at hand to time one).
#if defined(__aarch64__)
#include <arm_neon.h>
#include "products.h"

/// 4 lanes whose total is Σ w·x over one block (Q4_0: w = q − 8).
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
    const int blockBytes = isQ4 ? 18 : 34;
    const uint8_t zeroBlock[34] = {0};   // stands in for the missing rows of a last, partial group
    uint8_t buffer[4][34];
    for (int r0 = 0; r0 < rows; r0 += 4) {
        const int count = rows - r0 < 4 ? rows - r0 : 4;
        for (int t = 0; t < n; t++) {
            const int8_t *x = codes + (long)t * blocks * 32;
            const float *dx = scales + (long)t * blocks;
            float32x4_t acc = vdupq_n_f32(0);
            for (int b = 0; b < blocks; b++) {
                const uint8_t *block[4];
                for (int i = 0; i < 4; i++) {
                    block[i] = i < count ? ck_row_block(blockBytes, weights, rows, blocks, r0 + i, b, buffer[i]) : zeroBlock;
                }
                const int32x4_t sums = vpaddq_s32(vpaddq_s32(block_sum(isQ4, block[0], x + 32 * b),
                                                             block_sum(isQ4, block[1], x + 32 * b)),
                                                  vpaddq_s32(block_sum(isQ4, block[2], x + 32 * b),
                                                             block_sum(isQ4, block[3], x + 32 * b)));
                const float32x4_t dw = {ck_fp16_to_fp32(block[0]), ck_fp16_to_fp32(block[1]),
                                        ck_fp16_to_fp32(block[2]), ck_fp16_to_fp32(block[3])};
                acc = vfmaq_f32(acc, vcvtq_f32_s32(sums), vmulq_n_f32(dw, dx[b]));
            }
            float lanes[4];
            vst1q_f32(lanes, acc);
            for (int i = 0; i < count; i++) y[t * yStride + r0 + i] = lanes[i];
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
