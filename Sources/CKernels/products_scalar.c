// Plain C products of Q8_0/Q4_0 weights with 8-bit activations: the path of CPUs without AVX2 or the
// dot-product extension (most of the time is spent here on those), and the reference of the tests.
// Per block the integer sum Σ w·x is exact; blocks are combined in fp32 in block order.
#include <string.h>
#include "CKernels.h"
#include "products.h"

void ck_q8_0_products_scalar(const uint8_t *weights, int rows, int blocks, const int8_t *codes,
                             const float *scales, const int32_t *sums, int n, float *y, long yStride) {
    (void)sums;
    for (int r = 0; r < rows; r++) {
        const uint8_t *row = weights + (long)r * blocks * 34;
        for (int t = 0; t < n; t++) {
            const int8_t *x = codes + (long)t * blocks * 32;
            float total = 0.0f;
            for (int b = 0; b < blocks; b++) {
                const uint8_t *block = row + 34 * b;
                int32_t sum = 0;
                for (int j = 0; j < 32; j++) sum += (int8_t)block[2 + j] * x[32 * b + j];
                total += ck_fp16_to_fp32(block) * scales[(long)t * blocks + b] * (float)sum;
            }
            y[t * yStride + r] = total;
        }
    }
}

void ck_q4_0_products_scalar(const uint8_t *weights, int rows, int blocks, const int8_t *codes,
                             const float *scales, const int32_t *sums, int n, float *y, long yStride) {
    (void)sums;
    for (int r = 0; r < rows; r++) {
        const uint8_t *row = weights + (long)r * blocks * 18;
        for (int t = 0; t < n; t++) {
            const int8_t *x = codes + (long)t * blocks * 32;
            float total = 0.0f;
            for (int b = 0; b < blocks; b++) {
                const uint8_t *block = row + 18 * b;
                int32_t sum = 0;
                for (int j = 0; j < 16; j++) {
                    sum += ((block[2 + j] & 15) - 8) * x[32 * b + j];
                    sum += ((block[2 + j] >> 4) - 8) * x[32 * b + j + 16];
                }
                total += ck_fp16_to_fp32(block) * scales[(long)t * blocks + b] * (float)sum;
            }
            y[t * yStride + r] = total;
        }
    }
}
