// The in-RAM layout of Q8_0/Q4_0 weights: groups of 8 rows interleaved block by block, so that the
// integer kernels read one stream per group of rows instead of 8 (CKernels.h, "Interleaved layout").
// Weights are interleaved once, when a matrix is made (from a quantizer, a GGUF file or an expert read
// into a cache slot), and turned back into the GGUF layout only for writing files.
#include <string.h>
#include "CKernels.h"
#include "products.h"

void ck_interleave_block(int blockBytes, const uint8_t *const block[CK_GROUP_ROWS], uint8_t *out) {
    for (int i = 0; i < CK_GROUP_ROWS; i++) memcpy(out + 2 * i, block[i], 2);
    const int words = (blockBytes - 2) / 4;   // 8 for Q8_0, 4 for Q4_0
    for (int k = 0; k < words; k++) {
        for (int i = 0; i < CK_GROUP_ROWS; i++) memcpy(out + 16 + 32 * k + 4 * i, block[i] + 2 + 4 * k, 4);
    }
}

void ck_interleave_rows(int blockBytes, uint8_t *bytes, int rows, int blocks, uint8_t *scratch) {
    const long rowBytes = (long)blocks * blockBytes, groupBytes = CK_GROUP_ROWS * rowBytes;
    for (int g = 0; g < rows / CK_GROUP_ROWS; g++) {
        uint8_t *group = bytes + g * groupBytes;
        memcpy(scratch, group, groupBytes);
        for (int b = 0; b < blocks; b++) {
            const uint8_t *block[CK_GROUP_ROWS];
            for (int i = 0; i < CK_GROUP_ROWS; i++) block[i] = scratch + i * rowBytes + (long)b * blockBytes;
            ck_interleave_block(blockBytes, block, group + (long)b * CK_GROUP_ROWS * blockBytes);
        }
    }
}

void ck_gguf_rows(int blockBytes, const uint8_t *weights, int rows, int blocks, int first, int count, uint8_t *out) {
    const long rowBytes = (long)blocks * blockBytes;
    for (int r = first; r < first + count; r++) {
        uint8_t *row = out + (r - first) * rowBytes;
        if (r >= rows / CK_GROUP_ROWS * CK_GROUP_ROWS) {   // past the last whole group: as in GGUF
            memcpy(row, weights + r * rowBytes, rowBytes);
            continue;
        }
        for (int b = 0; b < blocks; b++) ck_gguf_block(blockBytes, weights, blocks, r, b, row + (long)b * blockBytes);
    }
}
