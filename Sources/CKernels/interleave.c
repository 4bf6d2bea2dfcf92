// The in-RAM layout of Q8_0/Q4_0 weights: groups of 8 rows interleaved block by block, so that the
// integer kernels read one stream per group of rows instead of 8 (CKernels.h, "Interleaved layout").
// Weights are interleaved once, when a matrix is made (from a quantizer, a GGUF file or an expert read
// into a cache slot), and turned back into the GGUF layout only for writing files.
#include <stdlib.h>
#include <string.h>
#include "CKernels.h"
#include "products.h"
#include "group_block_x86.h"

void ck_interleave_block(int blockBytes, const uint8_t *const block[CK_GROUP_ROWS], uint8_t *out) {
    for (int i = 0; i < CK_GROUP_ROWS; i++) memcpy(out + 2 * i, block[i], 2);
    const int words = (blockBytes - 2) / 4;   // 8 for Q8_0, 4 for Q4_0
    for (int k = 0; k < words; k++) {
        for (int i = 0; i < CK_GROUP_ROWS; i++) memcpy(out + 16 + 32 * k + 4 * i, block[i] + 2 + 4 * k, 4);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
static void interleave_group_avx2(int blockBytes, const uint8_t *rows, int blocks, uint8_t *out);
#endif

/// One whole group (8 rows in the GGUF layout at `rows`) into the interleaved layout at `out`.
static void interleave_group(int blockBytes, const uint8_t *rows, int blocks, uint8_t *out) {
#if defined(__x86_64__)
    static int hasAVX2 = -1;   // racing first calls all store the same value
    if (hasAVX2 < 0) hasAVX2 = ck_path_available(CK_PATH_AVX2);
    if (hasAVX2) {
        interleave_group_avx2(blockBytes, rows, blocks, out);
        return;
    }
#endif
    const long rowBytes = (long)blocks * blockBytes;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *block[CK_GROUP_ROWS];
        for (int i = 0; i < CK_GROUP_ROWS; i++) block[i] = rows + i * rowBytes + (long)b * blockBytes;
        ck_interleave_block(blockBytes, block, out + (long)b * CK_GROUP_ROWS * blockBytes);
    }
}

void ck_interleave_rows(int blockBytes, uint8_t *bytes, int rows, int blocks, uint8_t *scratch) {
    const long groupBytes = CK_GROUP_ROWS * (long)blocks * blockBytes;
    for (int g = 0; g < rows / CK_GROUP_ROWS; g++) {
        uint8_t *group = bytes + g * groupBytes;
        memcpy(scratch, group, groupBytes);
        interleave_group(blockBytes, scratch, blocks, group);
    }
}

void ck_interleave_rows_from(int blockBytes, const uint8_t *source, uint8_t *destination, int rows, int blocks) {
    const long rowBytes = (long)blocks * blockBytes, groupBytes = CK_GROUP_ROWS * rowBytes;
    const int groups = rows / CK_GROUP_ROWS;
    for (int g = 0; g < groups; g++) interleave_group(blockBytes, source + g * groupBytes, blocks, destination + g * groupBytes);
    memcpy(destination + groups * groupBytes, source + groups * groupBytes, (rows - groups * CK_GROUP_ROWS) * rowBytes);
}

void ck_for_each_interleaved_group(int blockBytes, const uint8_t *weights, int rows, int blocks,
                                   void (*apply)(void *context, const uint8_t *group, int count, int first), void *context) {
    const long rowBytes = (long)blocks * blockBytes, groupBytes = CK_GROUP_ROWS * rowBytes;
    const int wholeRows = rows / CK_GROUP_ROWS * CK_GROUP_ROWS;
    if (wholeRows > 0) {
        uint8_t *group = malloc(groupBytes);
        if (group == NULL) abort();
        for (int r = 0; r < wholeRows; r += CK_GROUP_ROWS) {
            interleave_group(blockBytes, weights + r * rowBytes, blocks, group);
            apply(context, group, CK_GROUP_ROWS, r);
        }
        free(group);
    }
    if (wholeRows < rows) apply(context, weights + wholeRows * rowBytes, rows - wholeRows, wholeRows);
}

#if defined(__x86_64__)

/// A whole group (8 rows in the GGUF layout at `rows`) into the interleaved layout at `out`, with the AVX2
/// transposes of `gguf_group_avx2` the other way round: the fill of an expert slot read from disk runs this
/// once per group (ck_interleave_block's word-by-word copies took 3× a memcpy of the same bytes).
__attribute__((target("avx2")))
static void interleave_group_avx2(int blockBytes, const uint8_t *rows, int blocks, uint8_t *out) {
    const long rowBytes = (long)blocks * blockBytes;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *block = rows + (long)b * blockBytes;
        uint8_t *at = out + (long)b * CK_GROUP_ROWS * blockBytes;
        for (int i = 0; i < CK_GROUP_ROWS; i++) memcpy(at + 2 * i, block + i * rowBytes, 2);
        __m256i words[8];
        ck_group_block_words(blockBytes, block, rowBytes, words);
        for (int k = 0; k < (blockBytes - 2) / 4; k++) _mm256_storeu_si256((__m256i *)(at + 16 + 32 * k), words[k]);
    }
}

/// A whole group (8 rows starting at `group`) back to the GGUF layout at `out`, with AVX2 transposes of
/// the code words: the fp32-activation products put each group back before their row-by-row kernel, so
/// this runs once per group and product (a word-by-word copy cost them more than their own work).
__attribute__((target("avx2")))
static void gguf_group_avx2(int blockBytes, const uint8_t *group, int blocks, uint8_t *out) {
    const long rowBytes = (long)blocks * blockBytes;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *at = group + (long)b * CK_GROUP_ROWS * blockBytes;
        uint8_t *block = out + (long)b * blockBytes;
        for (int i = 0; i < CK_GROUP_ROWS; i++) memcpy(block + i * rowBytes, at + 2 * i, 2);
        if (blockBytes == 18) {
            // v[m] = word m of rows 0…3 | 4…7; transposed: v[j] = the 4 words of row j | row j + 4
            __m256i v[4];
            for (int m = 0; m < 4; m++) v[m] = _mm256_loadu_si256((const __m256i *)(at + 16 + 32 * m));
            ck_transpose_4x4(v);
            for (int j = 0; j < 4; j++) {
                _mm_storeu_si128((__m128i *)(block + j * rowBytes + 2), _mm256_castsi256_si128(v[j]));
                _mm_storeu_si128((__m128i *)(block + (j + 4) * rowBytes + 2), _mm256_extracti128_si256(v[j], 1));
            }
        } else {
            // lo[m], hi[m] = words m, m + 4 of rows 0…3 | 4…7; transposed: words 0…3, 4…7 of row j | j + 4
            __m256i lo[4], hi[4];
            for (int m = 0; m < 4; m++) {
                lo[m] = _mm256_loadu_si256((const __m256i *)(at + 16 + 32 * m));
                hi[m] = _mm256_loadu_si256((const __m256i *)(at + 16 + 32 * (m + 4)));
            }
            ck_transpose_4x4(lo);
            ck_transpose_4x4(hi);
            for (int j = 0; j < 4; j++) {
                _mm256_storeu_si256((__m256i *)(block + j * rowBytes + 2), _mm256_permute2x128_si256(lo[j], hi[j], 0x20));
                _mm256_storeu_si256((__m256i *)(block + (j + 4) * rowBytes + 2), _mm256_permute2x128_si256(lo[j], hi[j], 0x31));
            }
        }
    }
}
#endif

void ck_gguf_rows(int blockBytes, const uint8_t *weights, int rows, int blocks, int first, int count, uint8_t *out) {
    const long rowBytes = (long)blocks * blockBytes;
#if defined(__x86_64__)
    static int hasAVX2 = -1;   // racing first calls all store the same value
    if (hasAVX2 < 0) hasAVX2 = ck_path_available(CK_PATH_AVX2);
    // whole groups at the start of the range, on AVX2 CPUs
    while (hasAVX2 && first % CK_GROUP_ROWS == 0 && count >= CK_GROUP_ROWS && first + CK_GROUP_ROWS <= rows / CK_GROUP_ROWS * CK_GROUP_ROWS) {
        gguf_group_avx2(blockBytes, weights + first * rowBytes, blocks, out);
        first += CK_GROUP_ROWS;
        count -= CK_GROUP_ROWS;
        out += CK_GROUP_ROWS * rowBytes;
    }
#endif
    for (int r = first; r < first + count; r++) {
        uint8_t *row = out + (r - first) * rowBytes;
        if (r >= rows / CK_GROUP_ROWS * CK_GROUP_ROWS) {   // past the last whole group: as in GGUF
            memcpy(row, weights + r * rowBytes, rowBytes);
            continue;
        }
        for (int b = 0; b < blocks; b++) ck_gguf_block(blockBytes, weights, blocks, r, b, row + (long)b * blockBytes);
    }
}
