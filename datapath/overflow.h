#pragma once
// The single narrowing point of the datapath: every value a B-bit accumulator register
// receives passes through fit(), which applies the stage's overflow policy and reports
// whether the exact value was out of range (an overflow event).
#include <cstdint>
#include "enum_names.h"

#include "wide_int.h"

namespace accsim {

enum class OverflowMode { wrap, saturate };

inline constexpr EnumName<OverflowMode> k_overflow_names[] = {{OverflowMode::wrap, "wrap"},
                                                              {OverflowMode::saturate, "saturate"}};
inline const char* to_string(OverflowMode v) {
    return name_of(k_overflow_names, v);
}
// The --acc shorthand's flags for them (describe() writes these; both tables parse).
inline constexpr EnumName<OverflowMode> k_overflow_flags[] = {{OverflowMode::wrap, "wrap"},
                                                              {OverflowMode::saturate, "sat"}};

inline constexpr int k_min_acc_bits = 2;
inline constexpr int k_max_acc_bits = 64;

// Range of a signed B-bit register: [-2^(B-1), 2^(B-1) - 1].
inline i128 register_min(int bits) {
    return -(i128{1} << (bits - 1));
}
inline i128 register_max(int bits) {
    return (i128{1} << (bits - 1)) - 1;
}

struct Fitted {
    int64_t value;  // what the register holds afterwards
    bool event;     // the exact value did not fit
};

// `exact` may be any value of |exact| < 2^126 (sums of two 64-bit values qualify).
inline Fitted fit(i128 exact, int bits, OverflowMode mode) {
    const i128 lo = register_min(bits);
    const i128 hi = register_max(bits);
    if (exact >= lo && exact <= hi) return {static_cast<int64_t>(exact), false};
    if (mode == OverflowMode::saturate) return {static_cast<int64_t>(exact < lo ? lo : hi), true};
    // Two's-complement wrap: keep the low B bits, then sign-extend.
    const u128 mask = (u128{1} << bits) - 1;
    u128 low = static_cast<u128>(exact) & mask;
    if (low > static_cast<u128>(hi)) low -= u128{1} << bits;  // wraps modulo 2^128 as intended
    return {static_cast<int64_t>(static_cast<i128>(low)), true};
}

}  // namespace accsim
