// Plain C products of Q8_0/Q4_0 weights with 8-bit activations: the path of CPUs without AVX2 or the
// dot-product extension (most of the time is spent here on those), and the reference of the tests. Each
// row's blocks are gathered from the interleaved layout (CKernels.h) back to GGUF blocks, one at a time.
//
// The arithmetic every path follows (CKernels.h): per row, token and block the exact integer sum
// S = Σ w·x (Q4_0: w = q − 8), then `y = fmaf((float)S, d_w · d_x, y)` over the blocks in order, from 0 —
// what llama.cpp's repacked Q4_0 kernels compute on AVX2 (`ggml_gemv_q4_0_8x8_q8_0`: `acc_row =
// fmadd(cvtepi32_ps(iacc), mul(col_scale, row_scale), acc_row)`). The other paths give these bits exactly.
#include <math.h>
#include "CKernels.h"
#include "products.h"

/// Σ (w − offset)·x over one block: `codes` the 32 weight codes as stored (Q4_0: nibbles, element j < 16
/// the low nibble of byte j and j + 16 its high nibble; Q8_0: int8).
static int32_t block_sum(const int isQ4, const uint8_t *block, const int8_t *x) {
    int32_t sum = 0;
    if (isQ4) {
        for (int j = 0; j < 16; j++) {
            sum += ((block[2 + j] & 15) - 8) * x[j];
            sum += ((block[2 + j] >> 4) - 8) * x[j + 16];
        }
    } else {
        for (int j = 0; j < 32; j++) sum += (int8_t)block[2 + j] * x[j];
    }
    return sum;
}

static void products(const int isQ4, const uint8_t *weights, int rows, int blocks, const int8_t *codes,
                     const float *scales, int n, float *y, long yStride) {
    const int blockBytes = isQ4 ? 18 : 34;
    uint8_t buffer[34];
    for (int r = 0; r < rows; r++) {
        for (int t = 0; t < n; t++) {
            float total = 0.0f;
            for (int b = 0; b < blocks; b++) {
                const uint8_t *block = ck_row_block(blockBytes, weights, rows, blocks, r, b, buffer);
                const long at = (long)t * blocks + b;
                const float scale = ck_fp16_to_fp32(block) * scales[at];
                total = fmaf((float)block_sum(isQ4, block, codes + 32 * at), scale, total);
            }
            y[t * yStride + r] = total;
        }
    }
}

void ck_q8_0_products_scalar(const uint8_t *weights, int rows, int blocks, const int8_t *codes,
                             const float *scales, const int32_t *sums, int n, float *y, long yStride) {
    (void)sums;
    products(0, weights, rows, blocks, codes, scales, n, y, yStride);
}

void ck_q4_0_products_scalar(const uint8_t *weights, int rows, int blocks, const int8_t *codes,
                             const float *scales, const int32_t *sums, int n, float *y, long yStride) {
    (void)sums;
    products(1, weights, rows, blocks, codes, scales, n, y, yStride);
}
