// Most of the time of a q8-activation run on x86-64 is spent here: Q8_0/Q4_0 weight blocks times 8-bit
// activation blocks with 8-bit integer multiplies. Included by products_x86.c once per instruction set:
//   CK_TARGET     the functions' target attribute ("avx2,fma,f16c" or with "avxvnni" added)
//   CK_NAME(f)    f with the path's suffix
//   CK_DOT_ADD(acc, u, s)  acc + 8 int32 lanes, lane i = Σ of u8·s8 over bytes 4i…4i+3 of the 32-byte
//                 vectors u and s (AVX2: vpmaddubsw, vpmaddwd, vpaddd; AVX-VNNI: one vpdpbusd)
//
// Layout: one fp32 vector holds 8 consecutive output rows of one token (lane i = row r0 + i), the layout
// of llama.cpp's repacked Q4_0 kernels on AVX2 (`ggml_gemv_q4_0_8x8_q8_0`, ggml-cpu arch/x86/repack.cpp).
// Per block of 32 columns a lane gets the exact integer sum S = Σ w·x of its row, and
// `acc = fma(float(S), d_w · d_x, acc)`: blocks are combined in block order, one fused multiply-add each,
// exactly as products_scalar.c does — so every path gives the same fp32 result bit for bit.
//
// The weights are in the interleaved layout (CKernels.h) — or in the GGUF layout, whose 8 rows' blocks
// `unpack_gguf` puts into the same registers as they are read — : per group of 8 rows and block, the 8 scales,
// then vector k (k = 0…7 for Q8_0, 0…3 for Q4_0) holding code bytes 4k…4k+3 of the 8 rows (row i in lane
// i). Per token and block, the token's 4 codes at 4k…4k+3 are broadcast to all lanes and multiplied with
// vector k: 8 multiplies give the 8 rows' sums, without horizontal additions, and a group is read as one
// stream. With at most TOKENS_PER_PASS tokens (decode) each group block is unpacked in registers as it
// is read; with more, a group is unpacked ("packed") once for up to TOKEN_TILE tokens into a small
// buffer, CHUNK_BLOCKS blocks at a time (17 KiB, stays in L1), and each packed vector is loaded once
// for TOKENS_PER_PASS tokens.
//
// Q4_0: the codes are the nibbles q (0…15) as unsigned bytes, so `vpmaddubsw` takes them as they are and
// its 16-bit pair sums can be added across the 8 vectors without overflow (16 · 15 · 127 = 30480 < 2¹⁵);
// one `vpmaddwd` then widens; the offset is taken off as S = Σ q·x − 8 · Σ x (exact). Q8_0: the codes are
// signed, so (as llama.cpp does) the unsigned operand is |w| and the sign moves to x (`vpsignb`); pair sums
// reach 2 · 128 · 127 = 32512, so each vector is widened to 32 bits before adding (AVX-VNNI's vpdpbusd
// widens and adds in one instruction; Q4_0 keeps the 16-bit sums on both paths).

#define CHUNK_BLOCKS 32
#define TOKEN_TILE 64
#define TOKENS_PER_PASS 4
/// How far ahead of the group block being read the next bytes are prefetched. One core, q4 × 1 token from
/// memory (2026-12-07, busy machine, CPU time): no prefetch 9.9–11.6 GB/s, 512 B 13.2, 1 KiB 14.5–15.1,
/// 2 KiB 12.2–12.6, 4 KiB 13.2–13.6.
#define PREFETCH_BYTES 1024

/// One group block unpacked: the operands of the multiplies.
typedef struct {
    __m256i u[8];      // unsigned operand: Q4_0 nibbles q, Q8_0 |w|
    __m256i sign[8];   // Q8_0 only: the signed codes w, whose signs go to x
    __m256 d;          // the 8 rows' scales d_w
} CK_NAME(unpacked_block);

/// Unpacks the group block at `at` (Q4_0 when `isQ4`, else Q8_0), prefetching `PREFETCH_BYTES` ahead.
static inline __attribute__((always_inline, target(CK_TARGET)))
void CK_NAME(unpack)(const int isQ4, const uint8_t *at, CK_NAME(unpacked_block) *p) {
    _mm_prefetch((const char *)at + PREFETCH_BYTES, _MM_HINT_T0);
    _mm_prefetch((const char *)at + PREFETCH_BYTES + 64, _MM_HINT_T0);
    p->d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)at));
    if (isQ4) {
        // word m of a row: the nibbles of elements 4m…4m+3 (low) and 16 + 4m… (high)
        const __m256i low4 = _mm256_set1_epi8(15);
        _mm_prefetch((const char *)at + PREFETCH_BYTES + 128, _MM_HINT_T0);
        for (int m = 0; m < 4; m++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(at + 16 + 32 * m));
            p->u[m] = _mm256_and_si256(v, low4);
            p->u[m + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        }
    } else {
        _mm_prefetch((const char *)at + PREFETCH_BYTES + 128, _MM_HINT_T0);
        _mm_prefetch((const char *)at + PREFETCH_BYTES + 192, _MM_HINT_T0);
        _mm_prefetch((const char *)at + PREFETCH_BYTES + 256, _MM_HINT_T0);
        for (int k = 0; k < 8; k++) {
            p->sign[k] = _mm256_loadu_si256((const __m256i *)(at + 16 + 32 * k));
            p->u[k] = _mm256_abs_epi8(p->sign[k]);   // −128 stays 0x80, i.e. 128 unsigned
        }
    }
}

/// `unpack` for weights in the GGUF layout: block b of 8 consecutive rows, row i's at `at + i · rowBytes`.
/// The code words are put into the interleaved order in registers (`ck_group_block_words`), the same
/// operands `unpack` loads.
static inline __attribute__((always_inline, target(CK_TARGET)))
void CK_NAME(unpack_gguf)(const int isQ4, const uint8_t *at, long rowBytes, CK_NAME(unpacked_block) *p) {
    __m128i d = _mm_setzero_si128();
#define CK_SCALE(i) d = _mm_insert_epi16(d, *(const uint16_t *)(at + (i) * rowBytes), i)
    CK_SCALE(0); CK_SCALE(1); CK_SCALE(2); CK_SCALE(3); CK_SCALE(4); CK_SCALE(5); CK_SCALE(6); CK_SCALE(7);
#undef CK_SCALE
    p->d = _mm256_cvtph_ps(d);
    __m256i words[8];
    ck_group_block_words(isQ4 ? 18 : 34, at, rowBytes, words);
    if (isQ4) {
        const __m256i low4 = _mm256_set1_epi8(15);
        for (int m = 0; m < 4; m++) {
            p->u[m] = _mm256_and_si256(words[m], low4);
            p->u[m + 4] = _mm256_and_si256(_mm256_srli_epi16(words[m], 4), low4);
        }
    } else {
        for (int k = 0; k < 8; k++) {
            p->sign[k] = words[k];
            p->u[k] = _mm256_abs_epi8(words[k]);
        }
    }
}

/// Group block b of the group at `group` in either layout: `gguf` 0 — the interleaved layout (`group`
/// its first group block); 1 — the GGUF layout (`group` its first row, rows `rowBytes` apart).
static inline __attribute__((always_inline, target(CK_TARGET)))
void CK_NAME(unpack_at)(const int isQ4, const int gguf, const uint8_t *group, long rowBytes, int b, CK_NAME(unpacked_block) *p) {
    const int blockBytes = isQ4 ? 18 : 34;
    if (gguf) CK_NAME(unpack_gguf)(isQ4, group + (long)b * blockBytes, rowBytes, p);
    else CK_NAME(unpack)(isQ4, group + (long)b * CK_GROUP_ROWS * blockBytes, p);
}

/// The codes x[j…j+3] (4 bytes) in every 32-bit lane.
static inline __attribute__((always_inline, target(CK_TARGET)))
__m256i CK_NAME(broadcast4)(const int8_t *x) {
    int32_t v;
    memcpy(&v, x, 4);
    return _mm256_set1_epi32(v);
}

/// `acc[0…nt−1]` (8 rows of `nt` ≤ TOKENS_PER_PASS tokens) continued over one unpacked block: the rows'
/// integer sums S against each token's 32 codes (token k's at `x + k · xStride`; its scale and code sum
/// at `dx`/`sx + k · sStride`), then `acc = fma(float(S), d_w · d_x, acc)`.
static inline __attribute__((always_inline, target(CK_TARGET)))
void CK_NAME(block_times_tokens)(const int isQ4, const int nt, const CK_NAME(unpacked_block) *p,
                                 const int8_t *x, long xStride, const float *dx, const int32_t *sx, long sStride,
                                 __m256 acc[TOKENS_PER_PASS]) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i sum[TOKENS_PER_PASS];
    if (isQ4) {
        __m256i pairs[TOKENS_PER_PASS];
        for (int k = 0; k < nt; k++) pairs[k] = _mm256_setzero_si256();
        for (int j = 0; j < 8; j++) {
            for (int k = 0; k < nt; k++) {
                const __m256i xj = CK_NAME(broadcast4)(x + k * xStride + 4 * j);
                pairs[k] = _mm256_add_epi16(pairs[k], _mm256_maddubs_epi16(p->u[j], xj));
            }
        }
        for (int k = 0; k < nt; k++) {
            sum[k] = _mm256_sub_epi32(_mm256_madd_epi16(pairs[k], ones), _mm256_set1_epi32(8 * sx[k * sStride]));
        }
    } else {
        for (int k = 0; k < nt; k++) sum[k] = _mm256_setzero_si256();
        for (int j = 0; j < 8; j++) {
            for (int k = 0; k < nt; k++) {
                const __m256i xj = _mm256_sign_epi8(CK_NAME(broadcast4)(x + k * xStride + 4 * j), p->sign[j]);
                sum[k] = CK_DOT_ADD(sum[k], p->u[j], xj);
            }
        }
    }
    for (int k = 0; k < nt; k++) {
        acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[k]), _mm256_mul_ps(p->d, _mm256_set1_ps(dx[k * sStride])), acc[k]);
    }
}

/// `acc[0…nt−1]` for one group of 8 rows (`blocks` group blocks at `group`, `unpack_at`'s layouts) and `nt` ≤ TOKENS_PER_PASS
/// tokens (token k's codes at `codes + k · 32 · blocks`, its scales and code sums at `k · blocks`): each
/// group block unpacked in registers as it is read (decode).
static inline __attribute__((always_inline, target(CK_TARGET)))
void CK_NAME(group_times_few_tokens)(const int isQ4, const int gguf, const int nt, const uint8_t *group, int blocks,
                                     const int8_t *codes, const float *scales, const int32_t *sums,
                                     __m256 acc[TOKENS_PER_PASS]) {
    const long rowBytes = (long)blocks * (isQ4 ? 18 : 34);
    for (int k = 0; k < nt; k++) acc[k] = _mm256_setzero_ps();
    for (int b = 0; b < blocks; b++) {
        CK_NAME(unpacked_block) block;
        CK_NAME(unpack_at)(isQ4, gguf, group, rowBytes, b, &block);
        CK_NAME(block_times_tokens)(isQ4, nt, &block, codes + 32 * b, 32L * blocks, scales + b, sums + b, blocks, acc);
    }
}

/// `block_times_tokens` over `nb` unpacked blocks (token k's codes for them at `x + k · xStride`).
static inline __attribute__((always_inline, target(CK_TARGET)))
void CK_NAME(chunk_times_tokens)(const int isQ4, const int nt, const CK_NAME(unpacked_block) *packed, int nb,
                                 const int8_t *x, long xStride, const float *dx, const int32_t *sx, long sStride,
                                 __m256 acc[TOKENS_PER_PASS]) {
    for (int b = 0; b < nb; b++) {
        CK_NAME(block_times_tokens)(isQ4, nt, &packed[b], x + 32 * b, xStride, dx + b, sx + b, sStride, acc);
    }
}

static inline __attribute__((always_inline, target(CK_TARGET)))
void CK_NAME(products)(const int isQ4, const int gguf, const uint8_t *weights, int rows, int blocks, const int8_t *codes,
                       const float *scales, const int32_t *sums, int n, float *y, long yStride) {
    const int blockBytes = isQ4 ? 18 : 34;
    const long rowBytes = (long)blocks * blockBytes, groupBlockBytes = CK_GROUP_ROWS * blockBytes;
    // the rows after the last whole group (stored as in GGUF) are interleaved here with zero rows
    // standing in for the missing ones, so that they take the same code
    const int wholeRows = rows / CK_GROUP_ROWS * CK_GROUP_ROWS;
    uint8_t *lastGroup = NULL;
    if (wholeRows < rows) {
        const uint8_t zeroBlock[34] = {0};
        lastGroup = malloc(CK_GROUP_ROWS * rowBytes);
        if (lastGroup == NULL) abort();   // at most 8 rows of one weight
        for (int b = 0; b < blocks; b++) {
            const uint8_t *block[CK_GROUP_ROWS];
            for (int i = 0; i < CK_GROUP_ROWS; i++) {
                block[i] = wholeRows + i < rows ? weights + (wholeRows + i) * rowBytes + b * blockBytes : zeroBlock;
            }
            ck_interleave_block(blockBytes, block, lastGroup + b * groupBlockBytes);
        }
    }
    CK_NAME(unpacked_block) packed[CHUNK_BLOCKS];   // a chunk of a group unpacked for many tokens
    __m256 partial[TOKEN_TILE + TOKENS_PER_PASS];   // the tile's accumulators between chunks of blocks
    for (int t0 = 0; t0 < n; t0 += TOKEN_TILE) {
        const int tokens = n - t0 < TOKEN_TILE ? n - t0 : TOKEN_TILE;
        const long at0 = (long)t0 * blocks;
        for (int r0 = 0; r0 < rows; r0 += CK_GROUP_ROWS) {
            const int count = rows - r0 < CK_GROUP_ROWS ? rows - r0 : CK_GROUP_ROWS;
            const uint8_t *group = count == CK_GROUP_ROWS ? weights + r0 * rowBytes : lastGroup;
            const int groupGGUF = gguf && count == CK_GROUP_ROWS;   // the last group's buffer is interleaved
            switch (tokens) {
            case 1: CK_NAME(group_times_few_tokens)(isQ4, groupGGUF, 1, group, blocks, codes + 32 * at0, scales + at0, sums + at0, partial); break;
            case 2: CK_NAME(group_times_few_tokens)(isQ4, groupGGUF, 2, group, blocks, codes + 32 * at0, scales + at0, sums + at0, partial); break;
            case 3: CK_NAME(group_times_few_tokens)(isQ4, groupGGUF, 3, group, blocks, codes + 32 * at0, scales + at0, sums + at0, partial); break;
            case 4: CK_NAME(group_times_few_tokens)(isQ4, groupGGUF, 4, group, blocks, codes + 32 * at0, scales + at0, sums + at0, partial); break;
            default:
                for (int b0 = 0; b0 < blocks; b0 += CHUNK_BLOCKS) {
                    const int nb = blocks - b0 < CHUNK_BLOCKS ? blocks - b0 : CHUNK_BLOCKS;
                    for (int b = 0; b < nb; b++) CK_NAME(unpack_at)(isQ4, groupGGUF, group, rowBytes, b0 + b, &packed[b]);
                    for (int t = 0; t < tokens; t += TOKENS_PER_PASS) {
                        const long at = (long)(t0 + t) * blocks + b0;
                        __m256 *acc = partial + t;
                        if (b0 == 0) for (int k = 0; k < TOKENS_PER_PASS; k++) acc[k] = _mm256_setzero_ps();
                        const int nt = tokens - t < TOKENS_PER_PASS ? tokens - t : TOKENS_PER_PASS;
                        const int8_t *x = codes + 32 * at;
                        switch (nt) {
                        case 1: CK_NAME(chunk_times_tokens)(isQ4, 1, packed, nb, x, 32L * blocks, scales + at, sums + at, blocks, acc); break;
                        case 2: CK_NAME(chunk_times_tokens)(isQ4, 2, packed, nb, x, 32L * blocks, scales + at, sums + at, blocks, acc); break;
                        case 3: CK_NAME(chunk_times_tokens)(isQ4, 3, packed, nb, x, 32L * blocks, scales + at, sums + at, blocks, acc); break;
                        default: CK_NAME(chunk_times_tokens)(isQ4, 4, packed, nb, x, 32L * blocks, scales + at, sums + at, blocks, acc); break;
                        }
                    }
                }
            }
            for (int t = 0; t < tokens; t++) {
                float *out = y + (t0 + t) * yStride + r0;
                if (count == CK_GROUP_ROWS) {
                    _mm256_storeu_ps(out, partial[t]);
                } else {
                    float lanes[CK_GROUP_ROWS];
                    _mm256_storeu_ps(lanes, partial[t]);
                    for (int i = 0; i < count; i++) out[i] = lanes[i];
                }
            }
        }
    }
    free(lastGroup);
}

__attribute__((target(CK_TARGET)))
CK_PRODUCTS_X86(CK_NAME(ck_q8_0_products)) {
    CK_NAME(products)(0, gguf, weights, rows, blocks, codes, scales, sums, n, y, yStride);
}

__attribute__((target(CK_TARGET)))
CK_PRODUCTS_X86(CK_NAME(ck_q4_0_products)) {
    CK_NAME(products)(1, gguf, weights, rows, blocks, codes, scales, sums, n, y, yStride);
}
