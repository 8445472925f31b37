#pragma once
// 128-bit helpers. Datapath values are at most 64 bits wide, but the exact result of adding
// two of them is not: every addition the simulator performs is done in 128 bits, then
// narrowed by overflow.h's fit().
#include <cstdint>
#include <string>

namespace accsim {

using i128 = __int128;
using u128 = unsigned __int128;

inline constexpr i128 k_i64_min = INT64_MIN;
inline constexpr i128 k_i64_max = INT64_MAX;

// Number of bits needed to write v in binary (0 for 0): floor(log2 v) + 1.
inline int bit_length(u128 v) {
    const uint64_t hi = static_cast<uint64_t>(v >> 64), lo = static_cast<uint64_t>(v);
    if (hi) return 128 - __builtin_clzll(hi);
    return lo ? 64 - __builtin_clzll(lo) : 0;
}

// Narrowest two's-complement width holding v: 1 for 0 and -1, 2 for 1 and -2, ...
inline int signed_bits(i128 v) {
    return v >= 0 ? bit_length(static_cast<u128>(v)) + 1
                  : bit_length(static_cast<u128>(-(v + 1))) + 1;
}

// Narrowest two's-complement width holding every value of [lo, hi].
inline int signed_bits(i128 lo, i128 hi) {
    const int a = signed_bits(lo);
    const int b = signed_bits(hi);
    return a > b ? a : b;
}

inline u128 abs_u128(i128 v) {
    return v < 0 ? static_cast<u128>(-(v + 1)) + 1 : static_cast<u128>(v);
}

std::string to_string(i128 v);

}  // namespace accsim
