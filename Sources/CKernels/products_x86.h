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
// To get S for 8 rows in the lanes of one vector without horizontal additions, the weights of a group of
// 8 rows are first transposed ("packed") into a small buffer: for each block, vector k (k = 0…7) holds
// bytes 4k…4k+3 of the block's 32 codes for the 8 rows (row i in lane i). Then per token and block, the
// token's 4 codes at 4k…4k+3 are broadcast to all lanes and multiplied with vector k: 8 multiplies give
// the 8 rows' sums. A group is packed once for up to TOKEN_TILE tokens, CHUNK_BLOCKS blocks at a time (the
// buffer, 9 or 17 KiB, stays in L1), and each packed vector is loaded once for TOKENS_PER_PASS tokens.
// Timed on one core by CPU time, weights in L2/L3 (2026-12-07): q4 3584 × 1024 times 1 token 12.7 GB/s of
// weights, times 64 tokens 70 GMAC/s (the kernel before this one: 10.2 GB/s and 26 GMAC/s); q8 17.2 GB/s
// and 43 GMAC/s (before: 23 GB/s and 28 GMAC/s).
//
// Q4_0: the codes are the nibbles q (0…15) as unsigned bytes, so `vpmaddubsw` takes them as they are and
// its 16-bit pair sums can be added across the 8 vectors without overflow (16 · 15 · 127 = 30480 < 2¹⁵);
// one `vpmaddwd` then widens; the offset is taken off as S = Σ q·x − 8 · Σ x (exact). Q8_0: the codes are
// signed, so (as llama.cpp does) the packed buffer holds |w| and the sign moves to x (`vpsignb`); pair sums
// reach 2 · 128 · 127 = 32512, so each vector is widened to 32 bits before adding (AVX-VNNI's vpdpbusd
// widens and adds in one instruction; Q4_0 keeps the 16-bit sums on both paths).

#define GROUP_ROWS 8
#define CHUNK_BLOCKS 32
#define TOKEN_TILE 64
#define TOKENS_PER_PASS 4
#define PREFETCH_GROUPS 2

/// One group of 8 rows × up to CHUNK_BLOCKS blocks, transposed as described above.
typedef struct {
    __m256i u[CHUNK_BLOCKS][8];      // unsigned operand: Q4_0 nibbles q, Q8_0 |w|
    __m256i sign[CHUNK_BLOCKS][8];   // Q8_0 only: the signed codes w, whose signs go to x
    __m256 d[CHUNK_BLOCKS];          // the 8 rows' scales d_w
} CK_NAME(packed_group);

/// The 4×4 transposes of 32-bit elements within each 128-bit half: `v[j]` holds dword m of row j in its low
/// half and of row j + 4 in its high half; afterwards `v[m]` holds dword m of rows 0…3 | 4…7.
static inline __attribute__((always_inline, target(CK_TARGET)))
void CK_NAME(transpose_4x4)(__m256i v[4]) {
    const __m256i t0 = _mm256_unpacklo_epi32(v[0], v[1]), t1 = _mm256_unpackhi_epi32(v[0], v[1]);
    const __m256i t2 = _mm256_unpacklo_epi32(v[2], v[3]), t3 = _mm256_unpackhi_epi32(v[2], v[3]);
    v[0] = _mm256_unpacklo_epi64(t0, t2);
    v[1] = _mm256_unpackhi_epi64(t0, t2);
    v[2] = _mm256_unpacklo_epi64(t1, t3);
    v[3] = _mm256_unpackhi_epi64(t1, t3);
}

/// Packs blocks `b0 … b0 + nb − 1` of the 8 rows at `row[0…7]` (Q4_0 when `isQ4`, else Q8_0); row i's
/// blocks are `step[i]` bytes apart (the block size, or 0 for a zero block standing in for a missing row).
/// Each block read also prefetches the bytes `ahead` further on: the same block of a later group of rows
/// (8 rows read side by side are 8 streams for the hardware prefetcher). One core of the development
/// machine, a q4 matrix–vector product from memory: 1.7 GB/s without it (load 18, the row-by-row kernel
/// before this one 2.7 GB/s in the same minute), 7.4 GB/s one group ahead, 7.9 two groups ahead, against
/// 13.5 GB/s for a plain read of the same bytes (load 3).
static inline __attribute__((always_inline, target(CK_TARGET)))
void CK_NAME(pack)(const int isQ4, const uint8_t *const row[GROUP_ROWS], const long step[GROUP_ROWS], int b0, int nb,
                   long ahead, CK_NAME(packed_group) *p) {
    const __m256i low4 = _mm256_set1_epi8(15);
    for (int b = 0; b < nb; b++) {
        const uint8_t *block[GROUP_ROWS];
        uint64_t halves[2] = {0, 0};   // the 8 fp16 scales, combined in integer registers (not shuffles)
        for (int i = 0; i < GROUP_ROWS; i++) {
            block[i] = row[i] + step[i] * (b0 + b);
            uint16_t half;
            memcpy(&half, block[i], 2);
            halves[i / 4] |= (uint64_t)half << (16 * (i % 4));
            _mm_prefetch((const char *)block[i] + ahead, _MM_HINT_T0);
        }
        p->d[b] = _mm256_cvtph_ps(_mm_set_epi64x((long long)halves[1], (long long)halves[0]));
        if (isQ4) {
            // 16 bytes per row: dword m holds the nibbles of elements 4m…4m+3 (low) and 16+4m… (high)
            __m256i v[4];
            for (int j = 0; j < 4; j++) {
                v[j] = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)(block[j + 4] + 2)),
                                        _mm_loadu_si128((const __m128i *)(block[j] + 2)));
            }
            CK_NAME(transpose_4x4)(v);
            for (int m = 0; m < 4; m++) {
                p->u[b][m] = _mm256_and_si256(v[m], low4);
                p->u[b][m + 4] = _mm256_and_si256(_mm256_srli_epi16(v[m], 4), low4);
            }
        } else {
            // 32 bytes per row: dword k holds elements 4k…4k+3; an 8×8 transpose of dwords
            __m256i lo[4], hi[4];
            for (int j = 0; j < 4; j++) {
                const __m256i a = _mm256_loadu_si256((const __m256i *)(block[j] + 2));
                const __m256i c = _mm256_loadu_si256((const __m256i *)(block[j + 4] + 2));
                lo[j] = _mm256_permute2x128_si256(a, c, 0x20);   // dwords 0…3 of rows j | j + 4
                hi[j] = _mm256_permute2x128_si256(a, c, 0x31);   // dwords 4…7
            }
            CK_NAME(transpose_4x4)(lo);
            CK_NAME(transpose_4x4)(hi);
            for (int m = 0; m < 4; m++) {
                p->sign[b][m] = lo[m];
                p->sign[b][m + 4] = hi[m];
                p->u[b][m] = _mm256_abs_epi8(lo[m]);       // −128 stays 0x80, i.e. 128 unsigned
                p->u[b][m + 4] = _mm256_abs_epi8(hi[m]);
            }
        }
    }
}

/// The codes x[j…j+3] (4 bytes) in every 32-bit lane.
static inline __attribute__((always_inline, target(CK_TARGET)))
__m256i CK_NAME(broadcast4)(const int8_t *x) {
    int32_t v;
    memcpy(&v, x, 4);
    return _mm256_set1_epi32(v);
}

/// `acc[0…nt−1]` (8 rows of `nt` ≤ TOKENS_PER_PASS tokens) continued over the `nb` packed blocks: per
/// block the rows' integer sums S against each token's codes (token k's at `x + k · xStride`, `32 · nb`
/// of them; its scales and code sums at `dx`/`sx + k · sStride`), then `acc = fma(float(S), d_w · d_x,
/// acc)`. Each packed vector is loaded once for the `nt` tokens.
static inline __attribute__((always_inline, target(CK_TARGET)))
void CK_NAME(group_times_tokens)(const int isQ4, const int nt, const CK_NAME(packed_group) *p, int nb,
                                 const int8_t *x, long xStride, const float *dx, const int32_t *sx, long sStride,
                                 __m256 acc[TOKENS_PER_PASS]) {
    const __m256i ones = _mm256_set1_epi16(1);
    for (int b = 0; b < nb; b++) {
        __m256i sum[TOKENS_PER_PASS];
        if (isQ4) {
            __m256i pairs[TOKENS_PER_PASS];
            for (int k = 0; k < nt; k++) pairs[k] = _mm256_setzero_si256();
            for (int j = 0; j < 8; j++) {
                const __m256i u = p->u[b][j];
                for (int k = 0; k < nt; k++) {
                    const __m256i xj = CK_NAME(broadcast4)(x + k * xStride + 32 * b + 4 * j);
                    pairs[k] = _mm256_add_epi16(pairs[k], _mm256_maddubs_epi16(u, xj));
                }
            }
            for (int k = 0; k < nt; k++) {
                sum[k] = _mm256_sub_epi32(_mm256_madd_epi16(pairs[k], ones), _mm256_set1_epi32(8 * sx[k * sStride + b]));
            }
        } else {
            for (int k = 0; k < nt; k++) sum[k] = _mm256_setzero_si256();
            for (int j = 0; j < 8; j++) {
                const __m256i u = p->u[b][j], signs = p->sign[b][j];
                for (int k = 0; k < nt; k++) {
                    const __m256i xj = _mm256_sign_epi8(CK_NAME(broadcast4)(x + k * xStride + 32 * b + 4 * j), signs);
                    sum[k] = CK_DOT_ADD(sum[k], u, xj);
                }
            }
        }
        for (int k = 0; k < nt; k++) {
            acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[k]), _mm256_mul_ps(p->d[b], _mm256_set1_ps(dx[k * sStride + b])), acc[k]);
        }
    }
}

static inline __attribute__((always_inline, target(CK_TARGET)))
void CK_NAME(products)(const int isQ4, const uint8_t *weights, int rows, int blocks, const int8_t *codes,
                       const float *scales, const int32_t *sums, int n, float *y, long yStride) {
    const long blockBytes = isQ4 ? 18 : 34, rowBytes = blocks * blockBytes;
    const uint8_t zeroBlock[34] = {0};   // stands in for the missing rows of a last, partial group
    CK_NAME(packed_group) packed;
    __m256 partial[TOKEN_TILE + TOKENS_PER_PASS];   // the tile's accumulators between chunks of blocks
    for (int t0 = 0; t0 < n; t0 += TOKEN_TILE) {
        const int tokens = n - t0 < TOKEN_TILE ? n - t0 : TOKEN_TILE;
        for (int r0 = 0; r0 < rows; r0 += GROUP_ROWS) {
            const int count = rows - r0 < GROUP_ROWS ? rows - r0 : GROUP_ROWS;
            const uint8_t *row[GROUP_ROWS];
            long step[GROUP_ROWS];
            for (int i = 0; i < GROUP_ROWS; i++) {
                row[i] = i < count ? weights + (r0 + i) * rowBytes : zeroBlock;
                step[i] = i < count ? blockBytes : 0;
            }
            for (int b0 = 0; b0 < blocks; b0 += CHUNK_BLOCKS) {
                const int nb = blocks - b0 < CHUNK_BLOCKS ? blocks - b0 : CHUNK_BLOCKS;
                CK_NAME(pack)(isQ4, row, step, b0, nb, PREFETCH_GROUPS * GROUP_ROWS * rowBytes, &packed);
                for (int t = 0; t < tokens; t += TOKENS_PER_PASS) {
                    const long at = (long)(t0 + t) * blocks + b0;
                    const int8_t *x = codes + 32 * at;
                    __m256 *acc = partial + t;
                    if (b0 == 0) for (int k = 0; k < TOKENS_PER_PASS; k++) acc[k] = _mm256_setzero_ps();
                    switch (tokens - t) {
                    case 1: CK_NAME(group_times_tokens)(isQ4, 1, &packed, nb, x, 32L * blocks, scales + at, sums + at, blocks, acc); break;
                    case 2: CK_NAME(group_times_tokens)(isQ4, 2, &packed, nb, x, 32L * blocks, scales + at, sums + at, blocks, acc); break;
                    case 3: CK_NAME(group_times_tokens)(isQ4, 3, &packed, nb, x, 32L * blocks, scales + at, sums + at, blocks, acc); break;
                    default: CK_NAME(group_times_tokens)(isQ4, 4, &packed, nb, x, 32L * blocks, scales + at, sums + at, blocks, acc); break;
                    }
                }
            }
            for (int t = 0; t < tokens; t++) {
                float *out = y + (t0 + t) * yStride + r0;
                if (count == GROUP_ROWS) {
                    _mm256_storeu_ps(out, partial[t]);
                } else {
                    float lanes[GROUP_ROWS];
                    _mm256_storeu_ps(lanes, partial[t]);
                    for (int i = 0; i < count; i++) out[i] = lanes[i];
                }
            }
        }
    }
}

__attribute__((target(CK_TARGET)))
CK_PRODUCTS(CK_NAME(ck_q8_0_products)) {
    CK_NAME(products)(0, weights, rows, blocks, codes, scales, sums, n, y, yStride);
}

__attribute__((target(CK_TARGET)))
CK_PRODUCTS(CK_NAME(ck_q4_0_products)) {
    CK_NAME(products)(1, weights, rows, blocks, codes, scales, sums, n, y, yStride);
}
