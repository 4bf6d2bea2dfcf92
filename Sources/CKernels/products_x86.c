// The x86-64 product paths: products_x86.h compiled for AVX2 (vpmaddubsw, then vpmaddwd against ones)
// and for AVX-VNNI (vpdpbusd does both). Each function carries its own target attribute, so the rest of
// the binary needs neither; dispatch.c checks the CPU before calling them.
#if defined(__x86_64__)
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>
#include "products.h"
#include "group_block_x86.h"

#define CK_TARGET "avx2,fma,f16c"
#define CK_NAME(f) f##_avx2
#define CK_DOT_ADD(acc, u, s) _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)))
#include "products_x86.h"
#undef CK_TARGET
#undef CK_NAME
#undef CK_DOT_ADD
#undef CHUNK_BLOCKS
#undef TOKEN_TILE
#undef TOKENS_PER_PASS
#undef PREFETCH_BYTES

#define CK_TARGET "avx2,fma,f16c,avxvnni"
#define CK_NAME(f) f##_avxvnni
#define CK_DOT_ADD(acc, u, s) _mm256_dpbusd_avx_epi32(acc, u, s)
#include "products_x86.h"
#endif
