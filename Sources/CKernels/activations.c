// Activations rounded to 8 bits per block of 32 (Q8_0), as llama.cpp rounds them before its integer dot
// products. Runs once per token and product, a small fraction of the time of the products themselves.
#include <math.h>
#include <string.h>
#include "CKernels.h"

/// The fp16 value nearest to `f` (ties to even) as fp32, for 0 ≤ f or NaN: what storing `f` in an fp16
/// field and reading it back gives (IEEE 754 binary16: 11 significant bits, exponents −14…15, subnormal
/// quantum 2⁻²⁴, values from 65520 up round to +Inf). Rounding to a multiple of 2^(e−10), e = f's
/// exponent (at least −14), is done by adding and subtracting c = 2^(e+13): the sum's last bit is worth
/// 2^(e−10), so the fp32 addition rounds f to it, ties to even.
static inline float fp16_value(float f) {
    if (f != f) return f;
    if (f >= 65520.0f) return INFINITY;
    uint32_t bits;
    memcpy(&bits, &f, 4);
    int exponent = (int)(bits >> 23) - 127;
    if (exponent < -14) exponent = -14;
    const uint32_t cBits = (uint32_t)(exponent + 13 + 127) << 23;
    float c;
    memcpy(&c, &cBits, 4);
    return (f + c) - c;
}

/// The rounding loop, compiled twice below: for any CPU, and for AVX2 CPUs, where `nearbyintf` is one
/// `vroundps` and the loops vectorise (without SSE4.1 it is a call into libm per value).
static inline __attribute__((always_inline))
void quantize_blocks(const float *x, int blocks, int8_t *codes, float *scales, int32_t *sums) {
    for (int b = 0; b < blocks; b++) {
        const float *block = x + 32 * b;
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(block[j]));
        scales[b] = fp16_value(amax / 127.0f);
        const float inverse = amax != 0.0f ? 127.0f / amax : 0.0f;
        int32_t sum = 0;
        for (int j = 0; j < 32; j++) {
            const int32_t code = (int32_t)nearbyintf(block[j] * inverse);   // in −127…127
            codes[32 * b + j] = (int8_t)code;
            sum += code;
        }
        sums[b] = sum;
    }
}

static void quantize_blocks_generic(const float *x, int blocks, int8_t *codes, float *scales, int32_t *sums) {
    quantize_blocks(x, blocks, codes, scales, sums);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma,f16c")))
static void quantize_blocks_avx2(const float *x, int blocks, int8_t *codes, float *scales, int32_t *sums) {
    quantize_blocks(x, blocks, codes, scales, sums);
}
#endif

void ck_quantize_activations(const float *x, int blocks, int8_t *codes, float *scales, int32_t *sums) {
#if defined(__x86_64__)
    static int hasAVX2 = -1;   // racing first calls all store the same value
    if (hasAVX2 < 0) hasAVX2 = ck_path_available(CK_PATH_AVX2);
    if (hasAVX2) return quantize_blocks_avx2(x, blocks, codes, scales, sums);
#endif
    quantize_blocks_generic(x, blocks, codes, scales, sums);
}
