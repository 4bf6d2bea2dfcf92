// fp32 weights times tokens (`ck_f32_products`): one token (decode) and prefill batches up to
// `ck_f32_batch_limit` tokens, e.g. a layer's attention projections or the experts' share of a prompt.
// Each weight row is read from memory once per block of tokens, where OpenBLAS's sgemm first copies
// ("packs") the whole weight into its own buffers on every call — at 2 tokens per expert that copy cost the
// sgemm about twice the CPU time of this loop (bench preset expert, 3584 × 1024) — and its sgemv wakes
// OpenBLAS's threads, which then spin in `sched_yield` beside the kernel threads.
//
// The tiling is the one llamafile's tinyBLAS uses for fp32 on 16-register x86 (ggml's `llamafile/sgemm.cpp`,
// `gemm_bloc<4, 3>`): a tile of 4 rows × 3 tokens keeps 12 accumulators of 8 lanes in registers; per step
// of 8 columns it loads the 3 tokens' chunks once and each row's chunk once for the 3 tokens. Tokens are
// taken in tiles of 3 and 2 (7 = 3 + 2 + 2, never a 1-token tile unless n is 1), and in blocks of at most
// `TOKEN_BLOCK_VALUES / cols` tokens, so that a block of activations stays in L2 while every 4-row tile of
// the range sweeps over it (the row tile itself stays in L1/L2 across the block's token tiles).
#include "CKernels.h"

/// Rows per tile and tokens per tile (the largest; the last tiles of a block take 2, n = 1 takes 1).
#define ROWS 4
#define TOKENS 3
/// Activation values (fp32) per token block: 256 KiB, half the L2 of the Zen 2 / Skylake cores it was
/// measured on (1024 columns: 64 tokens; 3584: 18).
#define TOKEN_BLOCK_VALUES 65536

typedef float lanes8 __attribute__((vector_size(32), aligned(4)));

/// Rows `0 … count − 1` of `w` times tokens `0 … nt − 1` of `x`: per row and token 8 independent fp32
/// lanes (lane j sums the columns c ≡ j mod 8 in order, `lane += w · x`), added up lane 0…7 in order at
/// the end; columns past the last multiple of 8 are added after that, in order. So per row and token the
/// additions are the same, in the same order, whatever the tile, block and row range: the same bits.
static inline __attribute__((always_inline))
void tile(const float *w, int cols, const float *x, float *y, long yStride, const int count, const int nt) {
    lanes8 acc[TOKENS][ROWS];
    for (int k = 0; k < nt; k++) for (int i = 0; i < count; i++) acc[k][i] = (lanes8){0};
    const int whole = cols / 8 * 8;
    for (int c = 0; c < whole; c += 8) {
        lanes8 xc[TOKENS];
        for (int k = 0; k < nt; k++) xc[k] = *(const lanes8 *)(x + (long)k * cols + c);
        for (int i = 0; i < count; i++) {
            const lanes8 wc = *(const lanes8 *)(w + (long)i * cols + c);
            for (int k = 0; k < nt; k++) acc[k][i] += wc * xc[k];
        }
    }
    for (int k = 0; k < nt; k++) {
        for (int i = 0; i < count; i++) {
            float total = 0.0f;
            for (int j = 0; j < 8; j++) total += acc[k][i][j];
            for (int c = whole; c < cols; c++) total += w[(long)i * cols + c] * x[(long)k * cols + c];
            y[(long)k * yStride + i] = total;
        }
    }
}

/// `count` rows times `n` tokens in tiles of 3 and 2 tokens (the tile sizes as constants).
static inline __attribute__((always_inline))
void rows_times_tokens(const float *w, int cols, const float *x, int n, float *y, long yStride, const int count) {
    if (n == 1) return tile(w, cols, x, y, yStride, count, 1);
    const int threes = n % 3 == 1 ? n / 3 - 1 : n / 3;   // n − 3·threes is 0, 2 or 4: tiles of 2
    int t = 0;
    for (; t < 3 * threes; t += 3) tile(w, cols, x + (long)t * cols, y + (long)t * yStride, yStride, count, 3);
    for (; t < n; t += 2) tile(w, cols, x + (long)t * cols, y + (long)t * yStride, yStride, count, 2);
}

static inline __attribute__((always_inline))
void products(const float *w, int rows, int cols, const float *x, int n, float *y, long yStride) {
    const int perBlock = TOKEN_BLOCK_VALUES / cols > TOKENS ? TOKEN_BLOCK_VALUES / cols : TOKENS;
    const int blocks = (n + perBlock - 1) / perBlock;
    for (int b = 0; b < blocks; b++) {   // blocks of equal size (± 1 token)
        const int t0 = (int)((long)n * b / blocks), nt = (int)((long)n * (b + 1) / blocks) - t0;
        const float *xb = x + (long)t0 * cols;
        float *yb = y + (long)t0 * yStride;
        int r = 0;
        for (; r + ROWS <= rows; r += ROWS) rows_times_tokens(w + (long)r * cols, cols, xb, nt, yb + r, yStride, ROWS);
        for (; r < rows; r++) rows_times_tokens(w + (long)r * cols, cols, xb, nt, yb + r, yStride, 1);
    }
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

void ck_f32_products(ck_path path, const float *w, int rows, int cols, const float *x, int n, float *y, long yStride) {
#if defined(__x86_64__)
    if (path == CK_PATH_AVX2 || path == CK_PATH_AVX_VNNI) return products_avx2(w, rows, cols, x, n, y, yStride);
#endif
    products_generic(w, rows, cols, x, n, y, yStride);
}
