#pragma once
// One step of a float accumulator stage: the fused dot-add of tensor cores (datapath/FLOAT.md).
// The step takes up to G terms and the register's value c, aligns them all to the largest
// exponent among them, truncates each toward zero to F fraction bits below it (no truncation
// when F is absent), adds them exactly and rounds the sum once into the register's format.
//
//   FloatStep s{register_format(8, 13), 13, Rounding::rz};   // Hopper's FP8 accumulator
//   Term t[2] = {product(a0, b0), product(a1, b1)};
//   StepOutcome o = fused_step(t, 2, c, s);
#include <cstdint>
#include <optional>

#include "datapath/float_format.h"
#include "datapath/float_rounding.h"
#include "datapath/wide_int.h"

namespace accsim {

// A term of a step: a product of two values (significand up to 128 bits). `exp` is the sum of
// the factors' alignment exponents (so sig * 2^lsb / 2^exp lies in [0, 4) for two factors).
struct Term {
    FloatClass cls = FloatClass::finite;
    bool negative = false;
    int exp = 0;
    int lsb = 0;
    u128 sig = 0;
    bool is_zero() const { return cls == FloatClass::finite && sig == 0; }
};

// The exact product of two values, with IEEE's special cases (inf * 0 is NaN).
Term product(const FloatValue& a, const FloatValue& b);
// An exact integer (an integer stage's tile result) as a value: exp = floor(log2 |v|).
FloatValue integer_value(int64_t v);

struct FloatStep {
    FloatFormat format;                // the register, eXmY
    std::optional<int> fraction_bits;  // F; none: the terms are added exactly
    Rounding rounding = Rounding::rne;
};

// Widest alignment window kept in 128-bit integers; beyond it (F absent and terms more than
// this many bits apart) the step adds exactly in an ExactSum instead.
inline constexpr int k_max_fraction_bits = 100;

struct StepOutcome {
    double value = 0;
    bool overflow = false;  // finite terms gave an infinity
    uint32_t swamped = 0;   // non-zero terms (not c) that truncated to zero
};

// `c` is a value of s.format (or an infinity or NaN). n <= 2^20.
StepOutcome fused_step(const Term* terms, int n, double c, const FloatStep& s);

}  // namespace accsim
