// Most of the time of a q8-activation run on x86-64 is spent here: Q8_0/Q4_0 weight blocks times 8-bit
// activation blocks with 8-bit integer multiplies. Included by products_x86.c once per instruction set:
//   CK_TARGET     the functions' target attribute ("avx2,fma,f16c" or with "avxvnni" added)
//   CK_NAME(f)    f with the path's suffix
//   CK_DOT(u, s)  8 int32 lanes, lane i = Σ of u8·s8 over bytes 4i…4i+3 of the 32-byte vectors u and s
//
// Per weight block and token: one 32-byte load of the token's codes, CK_DOT, for Q4_0 one subtraction of
// 8 · Σx (the codes' offset, taken off the exact integer sum), a conversion to fp32 and one fused
// multiply-add by d_w · d_x into the token's 8 accumulator lanes. The weight block is unpacked once and
// used for up to TOKENS_PER_PASS tokens; tokens go in tiles of TOKEN_TILE (16 tokens of 1024 codes stay in L1 while
// a thread's rows pass by). A single token (decode) alternates two accumulators so that consecutive
// blocks' multiply-adds do not wait for each other.
//
// Integer sums are exact: |u·s| ≤ 128 · 127, so vpmaddubsw's pairs never saturate int16 and every path
// (scalar, AVX2, AVX-VNNI, NEON) gives the same Σ w·x per block.

#define TOKENS_PER_PASS 4
#define TOKEN_TILE 16

static inline __attribute__((always_inline, target(CK_TARGET)))
float CK_NAME(horizontal_sum)(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __attribute__((always_inline, target(CK_TARGET)))
float CK_NAME(scale)(const uint8_t *block) {
    uint16_t half;
    memcpy(&half, block, 2);
    return _cvtsh_ss(half);
}

/// Adds block `b` of one weight row times block `b` of `nt` tokens to `acc[0..<nt]`. `isQ4`: the block
/// is Q4_0 (18 bytes, nibbles), else Q8_0 (34 bytes, int8).
static inline __attribute__((always_inline, target(CK_TARGET)))
void CK_NAME(accumulate_block)(const int isQ4, const int nt, const uint8_t *row, int b, int blocks,
                               const int8_t *codes, const float *scales, const int32_t *sums, __m256 *acc) {
    const uint8_t *block = row + (isQ4 ? 18 : 34) * b;
    const float dw = CK_NAME(scale)(block);
    __m256i w;   // Q4_0: the 32 codes 0…15 as unsigned bytes; Q8_0: |code|, the sign moved to x below
    __m256i signs = _mm256_setzero_si256();
    if (isQ4) {
        const __m128i packed = _mm_loadu_si128((const __m128i *)(block + 2));
        w = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(15));
    } else {
        signs = _mm256_loadu_si256((const __m256i *)(block + 2));
        w = _mm256_sign_epi8(signs, signs);   // |w|; −128 stays 0x80, i.e. 128 unsigned
    }
    for (int k = 0; k < nt; k++) {
        const long at = (long)k * blocks + b;
        __m256i x = _mm256_loadu_si256((const __m256i *)(codes + 32 * at));
        if (!isQ4) x = _mm256_sign_epi8(x, signs);
        __m256i sum = CK_DOT(w, x);
        if (isQ4) sum = _mm256_sub_epi32(sum, _mm256_setr_epi32(8 * sums[at], 0, 0, 0, 0, 0, 0, 0));
        acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dw * scales[at]), _mm256_cvtepi32_ps(sum), acc[k]);
    }
}

/// One weight row times `nt` (1…TOKENS_PER_PASS) tokens starting at `codes`/`scales`/`sums`; results to
/// `y[k · yStride]`.
static inline __attribute__((always_inline, target(CK_TARGET)))
void CK_NAME(row_times_tokens)(const int isQ4, const int nt, const uint8_t *row, int blocks,
                               const int8_t *codes, const float *scales, const int32_t *sums,
                               float *y, long yStride) {
    __m256 acc[TOKENS_PER_PASS], odd[TOKENS_PER_PASS];
    for (int k = 0; k < TOKENS_PER_PASS; k++) acc[k] = odd[k] = _mm256_setzero_ps();
    int b = 0;
    if (nt == 1) {
        for (; b + 1 < blocks; b += 2) {
            CK_NAME(accumulate_block)(isQ4, 1, row, b, blocks, codes, scales, sums, acc);
            CK_NAME(accumulate_block)(isQ4, 1, row, b + 1, blocks, codes, scales, sums, odd);
        }
        acc[0] = _mm256_add_ps(acc[0], odd[0]);
    }
    for (; b < blocks; b++) CK_NAME(accumulate_block)(isQ4, nt, row, b, blocks, codes, scales, sums, acc);
    for (int k = 0; k < nt; k++) y[k * yStride] = CK_NAME(horizontal_sum)(acc[k]);
}

static inline __attribute__((always_inline, target(CK_TARGET)))
void CK_NAME(products)(const int isQ4, const uint8_t *weights, int rows, int blocks, const int8_t *codes,
                       const float *scales, const int32_t *sums, int n, float *y, long yStride) {
    const long rowBytes = (long)blocks * (isQ4 ? 18 : 34);
    for (int tile = 0; tile < n; tile += TOKEN_TILE) {
        const int tileEnd = n < tile + TOKEN_TILE ? n : tile + TOKEN_TILE;
        for (int r = 0; r < rows; r++) {
            const uint8_t *row = weights + r * rowBytes;
            for (int t = tile; t < tileEnd; t += TOKENS_PER_PASS) {
                const int8_t *c = codes + (long)t * blocks * 32;
                const float *s = scales + (long)t * blocks;
                const int32_t *z = sums + (long)t * blocks;
                float *out = y + t * yStride + r;
                switch (tileEnd - t) {
                case 1: CK_NAME(row_times_tokens)(isQ4, 1, row, blocks, c, s, z, out, yStride); break;
                case 2: CK_NAME(row_times_tokens)(isQ4, 2, row, blocks, c, s, z, out, yStride); break;
                case 3: CK_NAME(row_times_tokens)(isQ4, 3, row, blocks, c, s, z, out, yStride); break;
                default: CK_NAME(row_times_tokens)(isQ4, 4, row, blocks, c, s, z, out, yStride); break;
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
