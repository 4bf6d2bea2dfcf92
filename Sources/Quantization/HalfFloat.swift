// IEEE binary16 (fp16) and bfloat16 conversions on bit patterns, scalar and 16 lanes at a time.
// Decoding is written with integer and fp32 operations so that it vectorises on any x86-64 or arm64
// target (Swift's Float16 conversions become a library call per value without F16C).

/// fp32 → fp16 bits, round-to-nearest-even, as numpy's `astype(np.float16)`; magnitudes from 65520 up
/// become ±Inf (0x7C00), NaN becomes the quiet NaN 0x7E00. Integer arithmetic instead of Swift's
/// `Float16(x)`, a library call per value on x86-64 without F16C.
@inline(__always)
func halfBits(_ x: Float) -> UInt16 {
    let bits = x.bitPattern
    let sign = UInt16(truncatingIfNeeded: bits >> 16) & 0x8000
    let magnitude = bits & 0x7FFF_FFFF
    if magnitude > 0x7F80_0000 { return sign | 0x7E00 }         // NaN
    if magnitude >= 0x4780_0000 { return sign | 0x7C00 }        // ≥ 65536 (and Inf): Inf
    if magnitude >= 0x3880_0000 {                               // ≥ 2⁻¹⁴: a normal fp16
        // round the 13 dropped mantissa bits to nearest even, then move the exponent bias from 127 to 15;
        // a carry out of the mantissa bumps the exponent (65520 … 65535 become Inf)
        let rounded = magnitude &+ 0x0FFF &+ ((magnitude >> 13) & 1)
        return sign | UInt16(truncatingIfNeeded: (rounded &- 0x3800_0000) >> 13)
    }
    // subnormal fp16 (or zero): adding 0.5 leaves the value rounded to a multiple of 2⁻²⁴ (nearest even)
    // in the low mantissa bits, which are the fp16 subnormal's bits (2⁻¹⁴ itself comes out as 0x0400)
    let units = (Float(bitPattern: magnitude) + 0.5).bitPattern &- Float(0.5).bitPattern
    return sign | UInt16(truncatingIfNeeded: units)
}

/// fp16 bits → fp32, exact for every pattern (zeros, subnormals, Inf, NaN).
@inline(__always)
func floatFromHalfBits(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let magnitude = UInt32(h & 0x7FFF)
    if magnitude >= 0x7C00 {   // Inf or NaN: all-ones exponent, payload kept
        return Float(bitPattern: sign | 0x7F80_0000 | (magnitude & 0x3FF) << 13)
    }
    // The fp16 exponent and mantissa shifted into fp32's fields read as value · 2⁻¹¹², for normal and
    // subnormal fp16 alike; one exact multiply restores the value.
    let value = Float(bitPattern: magnitude << 13) * 0x1p112
    return Float(bitPattern: value.bitPattern | sign)
}

/// 16 fp16 bit patterns → fp32, the same arithmetic as `floatFromHalfBits`.
@inline(__always)
func floatsFromHalfBits(_ h: SIMD16<UInt16>) -> SIMD16<Float> {
    let bits = SIMD16<UInt32>(truncatingIfNeeded: h)
    let sign = (bits & 0x8000) &<< 16
    let magnitude = bits & 0x7FFF
    let scaled = unsafeBitCast(magnitude &<< 13, to: SIMD16<Float>.self) * 0x1p112
    // Inf/NaN lanes (magnitude ≥ 0x7C00) selected with integer masks: SIMD comparisons and
    // `replace(with:where:)` compile to a lane-by-lane loop.
    let special = SIMD16<UInt32>(repeating: 0) &- ((magnitude &+ 0x400) &>> 15)
    let infinityOrNaN = 0x7F80_0000 | ((magnitude & 0x3FF) &<< 13)
    let out = (unsafeBitCast(scaled, to: SIMD16<UInt32>.self) & ~special) | (infinityOrNaN & special)
    return unsafeBitCast(out | sign, to: SIMD16<Float>.self)
}

/// fp32 → bfloat16 bits, round-to-nearest-even as ggml's `ggml_compute_fp32_to_bf16` (ggml-impl.h) and
/// gguf-py `quants.BF16`; NaN is kept quiet. Values that round past the largest bf16 become ±Inf.
@inline(__always)
func bfloat16Bits(_ x: Float) -> UInt16 {
    let bits = x.bitPattern
    if bits & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x40) }
    return UInt16(truncatingIfNeeded: (UInt64(bits) + 0x7FFF + UInt64((bits >> 16) & 1)) >> 16)
}

/// bfloat16 bits → fp32 (exact: bf16 is the top half of an fp32).
@inline(__always)
func floatFromBFloat16Bits(_ h: UInt16) -> Float {
    Float(bitPattern: UInt32(h) << 16)
}

/// 16 bfloat16 bit patterns → fp32.
@inline(__always)
func floatsFromBFloat16Bits(_ h: SIMD16<UInt16>) -> SIMD16<Float> {
    unsafeBitCast(SIMD16<UInt32>(truncatingIfNeeded: h) &<< 16, to: SIMD16<Float>.self)
}
