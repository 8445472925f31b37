#pragma once
// Float operands packed for the vectorized first stage: per element a signed significand
// (int32) and an alignment exponent (int16), so that a step's products, their largest exponent
// and their truncation run in SIMD lanes (AVX-512, AVX2 or portable, chosen at run time). Same
// results as fused_step, bit for bit (tests/unit/test_float_datapath.cpp).
//
//   PackedFloats px = pack_floats(x, k, fx.mantissa_bits);   // once per row
//   if (px.finite) { DotInputs in; in.x_sig = px.sig.data(); in.x_exp = px.exp.data(); ... }
#include <cstdint>
#include <vector>

#include "datapath/float_fast_steps.h"
#include "datapath/float_format.h"

namespace accsim {

// The exponent of a zero element: far below any real one, so it never sets a step's maximum.
inline constexpr int16_t k_packed_zero_exp = -16000;

struct PackedFloats {
    std::vector<int32_t> sig;  // value = sig * 2^(exp - mantissa_bits)
    std::vector<int16_t> exp;
    int mantissa_bits = 0;
    bool finite = true;  // false: an infinity or NaN (the general path takes such rows)
};

// Packs n decoded values of a format with `mantissa_bits` (at most 23).
PackedFloats pack_floats(const FloatValue* v, int64_t n, int mantissa_bits);
void pack_floats(const FloatValue* v, int64_t n, int mantissa_bits, PackedFloats& out);

// The steps of products x[i] w[i], i < n, from register c (as fast_steps). `mantissa_sum`: the
// two formats' mantissa bits added.
double packed_steps(const int32_t* xs, const int16_t* xe, const int32_t* ws, const int16_t* we,
                    int64_t n, double c, const FloatStep& s, int64_t group, int mantissa_sum,
                    FastStepCounts& counts);

// Whether every partial sum of k products of these formats fits a signed 64-bit integer in
// units of 2^base (the smallest product's last bit), e.g. e4m3 x e4m3 for any k below 2^26.
bool exact_fits_int64(const FloatFormat& fx, const FloatFormat& fw, int64_t k, int& base);

// The exact sum of the products in units of 2^base (every product's last bit at or above it),
// when `fits` (the caller's bound: every partial sum below 2^62).
int64_t packed_exact(const int32_t* xs, const int16_t* xe, const int32_t* ws, const int16_t* we,
                     int64_t n, int mantissa_sum, int base);

}  // namespace accsim
