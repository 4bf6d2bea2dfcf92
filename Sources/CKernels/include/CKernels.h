// Integer dot products of GGML Q8_0/Q4_0 weights with activations rounded to 8 bits per block of 32
// (mixtral-lab's `--activations q8`), the same weights times fp32 activations (`ck_q8_0_products_f32`), and fp32
// weights times a few tokens (`ck_f32_products`). The Swift side (Sources/Quantization/IntegerProducts.swift) rounds
// the activations with `ck_quantize_activations`, then calls `ck_q8_0_products` / `ck_q4_0_products`
// on row ranges from its kernel threads. Most of the time of a q8-activation run is spent in
// products_x86.h (x86-64), products_arm.c (ARM) or products_scalar.c (elsewhere).
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stdint.h>

/// Which implementation of the products runs. Every path gives the same fp32 results, bit for bit: the
/// arithmetic is fixed (see `ck_q8_0_products`), only the instructions differ.
typedef enum {
    /// Plain C loops, any CPU; also the reference of the tests.
    CK_PATH_SCALAR = 0,
    /// x86-64 with AVX2, FMA and F16C: `vpmaddubsw` + `vpmaddwd` (Haswell and later).
    CK_PATH_AVX2 = 1,
    /// x86-64 with AVX-VNNI: `vpdpbusd` in place of the two instructions above (Alder Lake, Zen 5).
    CK_PATH_AVX_VNNI = 2,
    /// ARMv8.2 with the dot-product extension: `sdot` (Apple M1 and later, Graviton 2 and later).
    CK_PATH_NEON_DOT = 3,
} ck_path;

/// 1 when `path` can run on this CPU (CPUID / HWCAP checked at run time), else 0.
int ck_path_available(ck_path path);

/// The fastest available path.
ck_path ck_best_path(void);

/// Rounds `blocks` blocks of 32 activations to Q8_0 as llama.cpp's `quantize_row_q8_0` does on x86-64
/// (ggml-cpu arch/x86/quants.c): per block, `amax` = the largest |x|, `d = amax / 127` rounded to fp16,
/// `codes[j] = round-half-to-even(x[j] · (127 / amax))` (0 when amax = 0).
/// - x: `[32 · blocks]` fp32 values (finite).
/// - codes: `[32 · blocks]` out, in −127…127.
/// - scales: `[blocks]` out, each block's d (the fp16 value, widened to fp32).
/// - sums: `[blocks]` out, each block's Σ codes (Q4_0 takes its −8 off with it).
void ck_quantize_activations(const float *x, int blocks, int8_t *codes, float *scales, int32_t *sums);

/// Interleaved layout: how the products find Q8_0/Q4_0 weights in RAM (mixtral-lab's own; GGUF files keep
/// GGML's layout, row after row of blocks). Rows go in groups of 8 (rows 8g … 8g + 7), stored one after
/// the other; a group is `blocks` group blocks, one per block column b, of 8 · blockBytes bytes each
/// (Q8_0 272, Q4_0 144 — the same bytes as the 8 rows' blocks, reordered):
///   bytes 0…15           the 8 rows' fp16 scales d, row i at 2i;
///   bytes 16 + 32k + 4i  code word k of row i: the block's code bytes 4k … 4k + 3 as stored in GGUF
///                        (Q8_0: 8 words, int8 codes 4k…4k+3; Q4_0: 4 words, the nibble bytes 4k…4k+3,
///                        i.e. elements 4k…4k+3 in the low nibbles and 16 + 4k… in the high ones).
/// So one 32-byte vector at 16 + 32k holds word k of all 8 rows, row i in 32-bit lane i: what the AVX2
/// kernels multiply with a token's broadcast codes to get the 8 rows' sums in the lanes of one vector
/// (llama.cpp repacks Q4_0 likewise at load, `block_q4_0x8` in ggml-cpu/repack.cpp, with 8-byte words).
/// A group block is read as one stream; the 8 rows of the GGUF layout are 8 streams. The rows after the
/// last whole group (rows mod 8 of them) stay as in GGUF, row after row. Whole-group row ranges of the
/// layout are themselves in the layout, so threads take ranges starting at multiples of 8 rows.

/// Where the products find Q8_0/Q4_0 weights: in the interleaved layout above (every matrix mixtral-lab
/// makes), or in GGUF's own layout, row after row of blocks — experts computed straight from the pages of
/// a mapped GGUF file (`--mmap-experts`), which are never rearranged. Both give the same
/// bits: the layout changes where a block's bytes are read from, not the arithmetic. The AVX2 and
/// AVX-VNNI integer paths read the GGUF layout directly (8 rows' blocks transposed in registers as they
/// are read); the other paths put each group of 8 rows into the interleaved layout in a buffer first.
typedef enum {
    CK_LAYOUT_INTERLEAVED = 0,
    CK_LAYOUT_GGUF = 1,
} ck_layout;

/// Puts `rows` rows of `blocks` GGUF-layout blocks of `blockBytes` bytes (34 Q8_0, 18 Q4_0) at `bytes`
/// into the interleaved layout, in place. `scratch`: 8 · blocks · blockBytes bytes of working memory.
void ck_interleave_rows(int blockBytes, uint8_t *bytes, int rows, int blocks, uint8_t *scratch);

/// `ck_interleave_rows` from `source` to `destination` (`rows · blocks · blockBytes` bytes each, not
/// overlapping): whole groups interleaved, the rows after the last whole group copied as they are.
void ck_interleave_rows_from(int blockBytes, const uint8_t *source, uint8_t *destination, int rows, int blocks);

/// Rows `first … first + count − 1` of interleaved weights (`rows` rows of `blocks` blocks) in the GGUF
/// layout, to `out` (count · blocks · blockBytes bytes).
void ck_gguf_rows(int blockBytes, const uint8_t *weights, int rows, int blocks, int first, int count, uint8_t *out);

/// `y[t · yStride + r] = Σ_b d_w(r, b) · d_x(t, b) · Σ_j w(r, b, j) · x(t, b, j)` for rows `r < rows` of
/// a Q8_0 weight and tokens `t < n` of rounded activations — the int8 matrix product. Computed as: per
/// block the exact integer S = Σ_j w·x, then `y = fmaf((float)S, d_w · d_x, y)` over the blocks in order,
/// starting from 0 (d_w · d_x rounded to fp32 first) — the arithmetic of llama.cpp's repacked Q4_0
/// kernels on AVX2 (ggml-cpu arch/x86/repack.cpp, `ggml_gemv_q4_0_8x8_q8_0`/`ggml_gemm_q4_0_8x8_q8_0`).
/// - weights: `rows` rows of `blocks` blocks of 34 bytes (fp16 d, 32 int8 codes) in `layout`.
/// - codes, scales, sums: `n` tokens of `ck_quantize_activations` output, token t at `t · 32 · blocks`,
///   `t · blocks`; `sums` is not read for Q8_0.
void ck_q8_0_products(ck_path path, ck_layout layout, const uint8_t *weights, int rows, int blocks,
                      const int8_t *codes, const float *scales, const int32_t *sums,
                      int n, float *y, long yStride);

/// The same for a Q4_0 weight (blocks of 18 bytes: fp16 d, 16 bytes of nibbles; weight = d · (q − 8)).
void ck_q4_0_products(ck_path path, ck_layout layout, const uint8_t *weights, int rows, int blocks,
                      const int8_t *codes, const float *scales, const int32_t *sums,
                      int n, float *y, long yStride);

/// `y[t · yStride + r] = Σ_b d_w(r, b) · Σ_j w(r, b, j) · x(t, b, j)` for rows `r < rows` of a Q8_0 weight in
/// `layout` and tokens `t < n` of fp32 activations — the int8 product with fp32 activations
/// (the default and reference), in the fixed arithmetic products_f32_activations.c states (eight fp32 lanes
/// per row, even and odd blocks in two accumulators, the lanes added in a fixed order), so every path and
/// every row range gives the same bits. `path`: AVX2 (also taken for AVX-VNNI) or else plain C.
/// - x: `[n, 32 · blocks]` row-major. xBlockSums: `[n, blocks]`, each block's Σ x (read for Q4_0 only).
void ck_q8_0_products_f32(ck_path path, ck_layout layout, const uint8_t *weights, int rows, int blocks, const float *x,
                          const float *xBlockSums, int n, float *y, long yStride);

/// The same for a Q4_0 weight (weight = d · (q − 8); the −8 is taken off once per row as 8 · Σ_b d · Σx_b).
void ck_q4_0_products_f32(ck_path path, ck_layout layout, const uint8_t *weights, int rows, int blocks, const float *x,
                          const float *xBlockSums, int n, float *y, long yStride);

/// HQQ codes of `count` values (whole groups of `groupSize`; `bits` 2, 3 or 4) from HQQMatrix's packed layout
/// (hqq_products.c) to one byte each, in order, at `codes`.
void ck_hqq_unpack(int bits, int groupSize, const uint8_t *packed, int count, uint8_t *codes);

/// `sums[s] = Σ codes[s · segment … s · segment + segment − 1]` for the `count / segment` segments.
void ck_code_sums(const int8_t *codes, long count, int segment, int32_t *sums);

/// One HQQ row times `n` tokens of rounded activations (`ck_quantize_activations`), to `y[t · yStride]`:
/// `Σ_g s_g · Σ_segments d · (Σ q·a − z_g · Σ a)` in the fixed arithmetic hqq_products.c states (integer
/// inner sums; every path the same bits). `groupSize` a multiple of 32, or 8 or 16; segments of
/// L = min(groupSize, 32) values.
/// - codes: the row's `cols` codes unpacked (`ck_hqq_unpack`); scales, zeros: its `cols / groupSize` decoded
///   scales s (1/hqq's s: the dequantization scale) and zero-points z.
/// - x, xScales: `n` tokens of codes `[n, cols]` and block scales `[n, cols / 32]`; xSums: `[n, cols / L]`,
///   `ck_code_sums` of x with segment L. dots: `cols / L` int32 of working memory.
void ck_hqq_q8_products(ck_path path, const uint8_t *codes, int cols, int groupSize, const float *scales,
                        const float *zeros, const int8_t *x, const float *xScales, const int32_t *xSums,
                        int n, float *y, long yStride, int32_t *dots);

/// `y[t · yStride + r] = Σ_c w[r, c] · x[t, c]` for an fp32 weight `w: [rows, cols]` (row-major) and `n`
/// tokens `x: [n, cols]` — the products of a batch (products_f32.c, tiles of 4 rows × 3 tokens); each row is
/// read once per block of tokens (256 KiB of activations). `path`: CK_PATH_AVX2 or CK_PATH_AVX_VNNI run the
/// AVX2 + FMA loop, any other path the plain C one. Deterministic: per row and token the same bits whatever
/// the row range a thread takes, the batch's size or the token's place in it.
void ck_f32_products(ck_path path, const float *w, int rows, int cols, const float *x, int n, float *y, long yStride);

/// `y[j] = alpha · Σ_c q[c] · keys[j · rowStride + c]` for `j < count`: one query's scores against `count`
/// cached keys of `headDim` values, rows `rowStride` floats apart (attention_products.c).
void ck_query_scores(const float *keys, int count, int headDim, long rowStride, const float *q, float alpha, float *y);

/// `out[c] = Σ_j p[j] · values[j · rowStride + c]` for `c < headDim`: one query's probability-weighted sum of
/// `count` cached values.
void ck_weighted_values(const float *values, int count, int headDim, long rowStride, const float *p, float *out);

#endif
