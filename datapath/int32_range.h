#pragma once
// The smallest and largest of n int32 values, vectorized for the instruction sets the CPU has
// (the baseline x86-64 target has no 32-bit minimum or maximum instruction):
//
//     const auto [lo, hi] = int32_range(x, n);  // {0, 0} when n == 0
#include <cstdint>
#include <utility>

namespace accsim {

std::pair<int32_t, int32_t> int32_range(const int32_t* v, int64_t n);

}  // namespace accsim
