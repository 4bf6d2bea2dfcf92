// fp32 weights times a few tokens at once (`ck_f32_products`): prefill batches of 2–4 tokens, e.g. the
// experts' share of a short prompt. Each weight row is read from memory once for all the tokens, where
// OpenBLAS's sgemm first copies ("packs") the weight into its own buffers — at 2 tokens per expert that
// copy cost the sgemm about twice the CPU time of this loop (bench preset expert, 3584 × 1024).
#include "CKernels.h"

/// Rows `r … r + ROWS − 1` times every token: 8 independent fp32 lanes per row and token (plain loops the
/// compiler vectorises), added up lane 0…7 in order at the end; columns past the last multiple of 8 are
/// added after that, in order.
#define ROWS 4

static inline __attribute__((always_inline))
void rows_times_tokens(const float *w, int cols, const float *x, int n, float *y, long yStride, int count) {
    for (int t = 0; t < n; t++) {
        const float *xt = x + (long)t * cols;
        float lanes[ROWS][8] = {{0}};
        const int whole = cols / 8 * 8;
        for (int c = 0; c < whole; c += 8) {
            for (int i = 0; i < ROWS; i++) {
                if (i >= count) break;
                for (int j = 0; j < 8; j++) lanes[i][j] += w[(long)i * cols + c + j] * xt[c + j];
            }
        }
        for (int i = 0; i < count; i++) {
            float total = 0.0f;
            for (int j = 0; j < 8; j++) total += lanes[i][j];
            for (int c = whole; c < cols; c++) total += w[(long)i * cols + c] * xt[c];
            y[(long)t * yStride + i] = total;
        }
    }
}

static inline __attribute__((always_inline))
void products(const float *w, int rows, int cols, const float *x, int n, float *y, long yStride) {
    int r = 0;
    for (; r + ROWS <= rows; r += ROWS) rows_times_tokens(w + (long)r * cols, cols, x, n, y + r, yStride, ROWS);
    for (; r < rows; r++) rows_times_tokens(w + (long)r * cols, cols, x, n, y + r, yStride, 1);
}

static void products_generic(const float *w, int rows, int cols, const float *x, int n, float *y, long yStride) {
    products(w, rows, cols, x, n, y, yStride);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void products_avx2(const float *w, int rows, int cols, const float *x, int n, float *y, long yStride) {
    products(w, rows, cols, x, n, y, yStride);
}
#endif

void ck_f32_products(const float *w, int rows, int cols, const float *x, int n, float *y, long yStride) {
#if defined(__x86_64__)
    static int hasAVX2 = -1;   // racing first calls all store the same value
    if (hasAVX2 < 0) hasAVX2 = ck_path_available(CK_PATH_AVX2);
    if (hasAVX2) return products_avx2(w, rows, cols, x, n, y, yStride);
#endif
    products_generic(w, rows, cols, x, n, y, yStride);
}
