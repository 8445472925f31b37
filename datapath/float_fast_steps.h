#pragma once
// The first stage's steps on finite operands in 64-bit integers: the same arithmetic as
// fused_step (align to the largest exponent, truncate to F fraction bits, add, round once),
// specialised for the common case of a truncation window of at most 50 bits and at most 256
// terms per step. FloatAccumulator takes this path when it applies; the tests hold both equal.
#include <cstdint>

#include "datapath/float_format.h"
#include "datapath/float_step.h"

namespace accsim {

inline constexpr int k_fast_max_fraction_bits = 50;
inline constexpr int64_t k_fast_max_group = 256;

// Whether steps of stage `s` with `group` terms can take the fast path.
inline bool fast_steps_apply(const FloatStep& s, int64_t group) {
    return s.fraction_bits && *s.fraction_bits <= k_fast_max_fraction_bits &&
           group <= k_fast_max_group && s.format.exponent_bits <= 10;
}

struct FastStepCounts {
    uint32_t swamped = 0;
    uint32_t events = 0;
};

// Products x[i] * w[i], i < n (all finite), in steps of `group` from the register value c;
// returns the register after the last step.
double fast_steps(const FloatValue* x, const FloatValue* w, int64_t n, double c, const FloatStep& s,
                  int64_t group, FastStepCounts& counts);

}  // namespace accsim
