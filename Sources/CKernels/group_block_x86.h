// One block column of 8 rows in the GGUF layout, turned into the interleaved layout's code vectors with
// AVX2 transposes: shared by the slot fill (interleave.c, which stores them) and the products on the GGUF
// layout (products_x86.h, which multiplies them in registers). Internal to the CKernels target.
#ifndef CKERNELS_GROUP_BLOCK_X86_H
#define CKERNELS_GROUP_BLOCK_X86_H
#if defined(__x86_64__)
#include <immintrin.h>
#include "products.h"

/// The 4×4 transposes of 32-bit elements within each 128-bit half of v[0…3].
static inline __attribute__((always_inline, target("avx2")))
void ck_transpose_4x4(__m256i v[4]) {
    const __m256i t0 = _mm256_unpacklo_epi32(v[0], v[1]), t1 = _mm256_unpackhi_epi32(v[0], v[1]);
    const __m256i t2 = _mm256_unpacklo_epi32(v[2], v[3]), t3 = _mm256_unpackhi_epi32(v[2], v[3]);
    v[0] = _mm256_unpacklo_epi64(t0, t2);
    v[1] = _mm256_unpackhi_epi64(t0, t2);
    v[2] = _mm256_unpacklo_epi64(t1, t3);
    v[3] = _mm256_unpackhi_epi64(t1, t3);
}

/// The code words of block b of 8 rows in the GGUF layout (row i's block at `block + i · rowBytes`) as the
/// interleaved layout's vectors: `words[k]` = word k of rows 0…7, row i in 32-bit lane i (k < 4 for Q4_0,
/// blockBytes 18; k < 8 for Q8_0, 34). Row j and row j + 4 are loaded into the two halves of a vector,
/// then transposed 4 × 4 within the halves.
static inline __attribute__((always_inline, target("avx2")))
void ck_group_block_words(int blockBytes, const uint8_t *block, long rowBytes, __m256i words[8]) {
    if (blockBytes == 18) {
        // v[j] = the 4 words of row j | row j + 4; transposed: v[m] = word m of rows 0…3 | 4…7
        for (int j = 0; j < 4; j++) {
            words[j] = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)(block + (j + 4) * rowBytes + 2)),
                                        _mm_loadu_si128((const __m128i *)(block + j * rowBytes + 2)));
        }
        ck_transpose_4x4(words);
    } else {
        // lo[j], hi[j] = words 0…3, 4…7 of row j | row j + 4; transposed: words m, m + 4 of rows 0…3 | 4…7
        for (int j = 0; j < 4; j++) {
            const __m256i a = _mm256_loadu_si256((const __m256i *)(block + j * rowBytes + 2));
            const __m256i c = _mm256_loadu_si256((const __m256i *)(block + (j + 4) * rowBytes + 2));
            words[j] = _mm256_permute2x128_si256(a, c, 0x20);
            words[j + 4] = _mm256_permute2x128_si256(a, c, 0x31);
        }
        ck_transpose_4x4(words);
        ck_transpose_4x4(words + 4);
    }
}

#endif
#endif
