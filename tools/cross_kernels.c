// Runs the product paths of Sources/CKernels that this machine's CPU cannot (ARM's NEON `sdot`, x86's
// AVX-VNNI) under an emulator, against a reference written here from the formula, bit for bit.
// Built and run by tools/check_cross_kernels.sh (which says how); not part of the Swift package.
//
// Integer paths (`ck_q8_0_products` / `ck_q4_0_products`, mixtral-lab's `--activations q8`): per row, token
// and block the exact integer S = Σ w·x (Q4_0: w = q − 8), then y = fmaf((float)S, d_w · d_x, y) over the
// blocks in order from 0 (CKernels.h) — so every path must give these bits exactly. The weights are
// arbitrary GGML blocks (every int8 code including −128, every nibble, fp16 scales of both signs, one zero
// scale), put into the interleaved layout with `ck_interleave_rows`; the activations are random floats
// rounded by `ck_quantize_activations`. Shapes: one block, rows not divisible by 4 (NEON's row group) or 8
// (the layout's group), 1- to 33-token batches.
//
// fp32 weights (`ck_f32_products`, the plain C path every non-x86 CPU runs): within the recursive-summation
// bound of a Double reference (KernelTests.swift states it), and a token alone gives the bits it has in a
// batch.
//
// Prints one line per path and check, then "verdict: OK" (exit 0) or "verdict: FAIL" (exit 1).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "CKernels.h"

static uint64_t state = 0x9E3779B97F4A7C15u;

static uint32_t next_random(void) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(state >> 32);
}

/// Uniform in [−1, 1).
static float uniform(void) { return (float)(next_random() >> 8) / (float)(1 << 23) - 1.0f; }

/// fp16 bits of `f` (0, or |f| within the normal fp16 range), rounded to nearest (ties away from zero).
static uint16_t fp16_bits(float f) {
    if (f == 0.0f) return 0;
    uint32_t bits;
    memcpy(&bits, &f, 4);
    const uint32_t sign = (bits >> 16) & 0x8000u;
    const int exponent = (int)((bits >> 23) & 0xff) - 127 + 15;
    const uint32_t mantissa = (bits & 0x7fffffu) + 0x1000u;   // round
    return (uint16_t)(sign | ((uint32_t)exponent << 10) + (mantissa >> 13));
}

static float fp16_value(const uint8_t *p) {
    const uint16_t h = (uint16_t)(p[0] | p[1] << 8);
    const int exponent = (h >> 10) & 31, mantissa = h & 1023;
    const float magnitude = exponent == 0 ? ldexpf((float)mantissa, -24) : ldexpf((float)(mantissa | 1024), exponent - 25);
    return (h & 0x8000) ? -magnitude : magnitude;
}

/// The formula on GGUF-layout blocks (row after row).
static void reference(int isQ4, const uint8_t *gguf, int rows, int blocks, const int8_t *codes, const float *scales,
                      int n, float *y) {
    const int blockBytes = isQ4 ? 18 : 34;
    for (int t = 0; t < n; t++) {
        for (int r = 0; r < rows; r++) {
            float total = 0.0f;
            for (int b = 0; b < blocks; b++) {
                const uint8_t *block = gguf + ((long)r * blocks + b) * blockBytes;
                const int8_t *x = codes + ((long)t * blocks + b) * 32;
                int32_t sum = 0;
                for (int j = 0; j < 32; j++) {
                    const int w = isQ4 ? (j < 16 ? (block[2 + j] & 15) : (block[2 + j - 16] >> 4)) - 8 : (int8_t)block[2 + j];
                    sum += w * x[j];
                }
                total = fmaf((float)sum, fp16_value(block) * scales[(long)t * blocks + b], total);
            }
            y[(long)t * rows + r] = total;
        }
    }
}

static int failures = 0;

/// One integer path on one format, every shape: outputs compared bit for bit with `reference`.
static void check_integer_path(ck_path path, const char *name, int isQ4) {
    static const int shapes[][3] = {{1, 1, 1}, {3, 1, 33}, {7, 3, 1}, {8, 1, 2}, {9, 2, 5}, {13, 5, 33}, {17, 2, 3},
                                    {16, 3, 7}, {33, 33, 2}, {20, 8, 9}};
    const int blockBytes = isQ4 ? 18 : 34;
    long compared = 0, differing = 0;
    for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int rows = shapes[s][0], blocks = shapes[s][1], n = shapes[s][2];
        const long bytes = (long)rows * blocks * blockBytes;
        uint8_t *gguf = malloc(bytes), *interleaved = malloc(bytes), *scratch = malloc(8L * blocks * blockBytes);
        for (long i = 0; i < bytes; i++) gguf[i] = (uint8_t)next_random();
        for (long k = 0; k < (long)rows * blocks; k++) {
            const float u = uniform();   // |d| in [0.001, 0.021): normal fp16 values of both signs; block 1: zero
            const uint16_t d = k == 1 ? 0 : fp16_bits(copysignf(0.001f + 0.02f * fabsf(u), u));
            gguf[k * blockBytes] = (uint8_t)d;
            gguf[k * blockBytes + 1] = (uint8_t)(d >> 8);
        }
        memcpy(interleaved, gguf, bytes);
        ck_interleave_rows(blockBytes, interleaved, rows, blocks, scratch);
        float *x = malloc(sizeof(float) * 32 * blocks * n), *scales = malloc(sizeof(float) * blocks * n);
        int8_t *codes = malloc(32L * blocks * n);
        int32_t *sums = malloc(sizeof(int32_t) * blocks * n);
        for (long i = 0; i < 32L * blocks * n; i++) x[i] = uniform() * 3.0f;
        ck_quantize_activations(x, blocks * n, codes, scales, sums);
        float *expected = malloc(sizeof(float) * rows * n), *y = malloc(sizeof(float) * rows * n);
        reference(isQ4, gguf, rows, blocks, codes, scales, n, expected);
        for (long i = 0; i < (long)rows * n; i++) y[i] = NAN;
        if (isQ4) ck_q4_0_products(path, CK_LAYOUT_INTERLEAVED, interleaved, rows, blocks, codes, scales, sums, n, y, rows);
        else ck_q8_0_products(path, CK_LAYOUT_INTERLEAVED, interleaved, rows, blocks, codes, scales, sums, n, y, rows);
        for (long i = 0; i < (long)rows * n; i++) {
            compared++;
            if (memcmp(&y[i], &expected[i], 4) != 0) {
                if (differing++ < 3) {
                    printf("  %s %s [%d rows, %d blocks] × %d tokens: output %ld is %.9g, the formula gives %.9g\n",
                           name, isQ4 ? "Q4_0" : "Q8_0", rows, blocks, n, i, y[i], expected[i]);
                }
            }
        }
        free(gguf); free(interleaved); free(scratch); free(x); free(scales); free(codes); free(sums); free(expected); free(y);
    }
    printf("%-8s %s × q8 activations: %ld outputs on 10 shapes, %ld differ from the formula%s\n", name,
           isQ4 ? "Q4_0" : "Q8_0", compared, differing, differing ? "  FAIL" : "");
    if (differing) failures++;
}

/// `ck_f32_products` on `path`: within the rounding bound of a Double sum, and token 1 alone the same bits.
static void check_f32_products(ck_path path, const char *name) {
    static const int shapes[][2] = {{1, 8}, {2, 5}, {3, 7}, {13, 37}, {7, 264}, {6, 3001}};
    static const int tokens[] = {1, 2, 7, 9, 33, 65};
    long compared = 0, outside = 0, batchDiffers = 0;
    for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int rows = shapes[s][0], cols = shapes[s][1];
        float *w = malloc(sizeof(float) * rows * cols);
        for (long i = 0; i < (long)rows * cols; i++) w[i] = uniform();
        for (unsigned k = 0; k < sizeof tokens / sizeof tokens[0]; k++) {
            const int n = tokens[k];
            float *x = malloc(sizeof(float) * n * cols), *y = malloc(sizeof(float) * n * rows), alone[16];
            for (long i = 0; i < (long)n * cols; i++) x[i] = uniform();
            ck_f32_products(path, w, rows, cols, x, n, y, rows);
            const int chain = cols / 8 + 7 + 2 * (cols % 8) + 1;
            for (int t = 0; t < n; t++) {
                for (int r = 0; r < rows; r++) {
                    double sum = 0, magnitude = 0;
                    for (int c = 0; c < cols; c++) {
                        const double p = (double)w[(long)r * cols + c] * x[(long)t * cols + c];
                        sum += p;
                        magnitude += fabs(p);
                    }
                    compared++;
                    if (!(fabs(y[(long)t * rows + r] - sum) <= 2.0 * chain * ldexp(1, -24) * magnitude)) outside++;
                }
            }
            if (n > 1) {
                ck_f32_products(path, w, rows, cols, x + cols, 1, alone, 1);
                if (memcmp(alone, y + rows, sizeof(float) * rows) != 0) batchDiffers++;
            }
            free(x); free(y);
        }
        free(w);
    }
    printf("%-8s fp32 weights (ck_f32_products): %ld outputs on 36 shapes × batches, %ld outside the rounding "
           "bound, %ld batches whose token 1 differs from it alone%s\n", name, compared, outside, batchDiffers,
           outside || batchDiffers ? "  FAIL" : "");
    if (outside || batchDiffers) failures++;
}

int main(void) {
    static const struct { ck_path path; const char *name; } paths[] = {
        {CK_PATH_SCALAR, "scalar"}, {CK_PATH_AVX2, "AVX2"}, {CK_PATH_AVX_VNNI, "AVX-VNNI"}, {CK_PATH_NEON_DOT, "NEON dot"}};
#if defined(__aarch64__)
    printf("architecture: aarch64\n");
#elif defined(__x86_64__)
    printf("architecture: x86-64\n");
#endif
    int ran = 0;
    for (unsigned p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        if (!ck_path_available(paths[p].path)) {
            printf("%-8s not available on this CPU (or emulated CPU): not run\n", paths[p].name);
            continue;
        }
        check_integer_path(paths[p].path, paths[p].name, 0);
        check_integer_path(paths[p].path, paths[p].name, 1);
        ran++;
    }
    check_f32_products(CK_PATH_SCALAR, "scalar");
    if (ck_best_path() != CK_PATH_SCALAR) check_f32_products(ck_best_path(), paths[ck_best_path()].name);
    printf("best path here: %s; integer paths run: %d\n", paths[ck_best_path()].name, ran);
    printf("verdict: %s\n", failures ? "FAIL" : "OK");
    return failures ? 1 : 0;
}
