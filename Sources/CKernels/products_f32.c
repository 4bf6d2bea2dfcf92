// fp32 weights times a few tokens at once (`ck_f32_products`): prefill batches of 2–4 tokens, e.g. the
// experts' share of a short prompt. Each weight row is read from memory once for all the tokens, where
// OpenBLAS's sgemm first copies ("packs") the weight into its own buffers — at 2 tokens per expert that
// copy cost the sgemm about twice the CPU time of this loop (bench preset expert, 3584 × 1024).
#include "CKernels.h"

/// Rows `r … r + count − 1` (count ≤ ROWS) times tokens `0 … NT − 1` of `x`: 8 independent fp32 lanes
/// per row and token (plain loops the compiler vectorises), added up lane 0…7 in order at the end; columns
/// past the last multiple of 8 are added after that, in order. Each row chunk loaded is used for the NT
/// tokens, each token chunk for the `count` rows: ROWS · NT accumulators stay in registers. Per row and
/// token the additions are the same, in the same order, whatever NT and the row range: the same bits.
#define ROWS 4
#define TOKENS_PER_PASS 3

static inline __attribute__((always_inline))
void rows_times_tokens(const float *w, int cols, const float *x, const int nt, float *y, long yStride, const int count) {
    float lanes[ROWS][TOKENS_PER_PASS][8] = {{{0}}};
    const int whole = cols / 8 * 8;
    for (int c = 0; c < whole; c += 8) {
        for (int k = 0; k < nt; k++) {
            for (int i = 0; i < count; i++) {
                for (int j = 0; j < 8; j++) lanes[i][k][j] += w[(long)i * cols + c + j] * x[(long)k * cols + c + j];
            }
        }
    }
    for (int k = 0; k < nt; k++) {
        for (int i = 0; i < count; i++) {
            float total = 0.0f;
            for (int j = 0; j < 8; j++) total += lanes[i][k][j];
            for (int c = whole; c < cols; c++) total += w[(long)i * cols + c] * x[(long)k * cols + c];
            y[(long)k * yStride + i] = total;
        }
    }
}

/// `rows_times_tokens` over all n tokens, TOKENS_PER_PASS at a time (the pass sizes as constants).
static inline __attribute__((always_inline))
void rows_times_all_tokens(const float *w, int cols, const float *x, int n, float *y, long yStride, const int count) {
    for (int t = 0; t < n; t += TOKENS_PER_PASS) {
        const float *xt = x + (long)t * cols;
        float *yt = y + (long)t * yStride;
        switch (n - t) {
        case 1: rows_times_tokens(w, cols, xt, 1, yt, yStride, count); break;
        case 2: rows_times_tokens(w, cols, xt, 2, yt, yStride, count); break;
        default: rows_times_tokens(w, cols, xt, TOKENS_PER_PASS, yt, yStride, count); break;
        }
    }
}

static inline __attribute__((always_inline))
void products(const float *w, int rows, int cols, const float *x, int n, float *y, long yStride) {
    int r = 0;
    for (; r + ROWS <= rows; r += ROWS) rows_times_all_tokens(w + (long)r * cols, cols, x, n, y + r, yStride, ROWS);
    for (; r < rows; r++) rows_times_all_tokens(w + (long)r * cols, cols, x, n, y + r, yStride, 1);
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
