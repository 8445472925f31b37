#pragma once
// An exact sum of binary values: a wide two's-complement fixed-point register (a "Kulisch
// accumulator") spanning every product, scale and register value accsim's float datapaths can
// produce, so the true result of a dot product is known to the last bit.
//
//   ExactSum s;
//   s.add(false, 3, -1);       // +1.5
//   s.add(true, 1, -100);      // -2^-100
//   double d = s.rounded(register_format(11, 52), Rounding::rne, overflow);
#include <array>
#include <cstdint>

#include "datapath/float_format.h"
#include "datapath/float_rounding.h"
#include "datapath/wide_int.h"

namespace accsim {

class ExactSum {
  public:
    // Weight of the lowest bit, and the number of 64-bit limbs: bits 2^-1344 .. 2^1215.
    static constexpr int k_lsb = -1344;
    static constexpr int k_limbs = 40;

    void clear() { m_limbs.fill(0); }
    // Adds (-1)^negative * mag * 2^lsb_exp; lsb_exp >= k_lsb and the value far inside the top.
    void add(bool negative, u128 mag, int lsb_exp);
    bool is_zero() const;
    bool negative() const { return static_cast<int64_t>(m_limbs[k_limbs - 1]) < 0; }
    // The value rounded once into `f` (see round_to_format); +0 when the sum is zero.
    double rounded(const FloatFormat& f, Rounding mode, bool& overflow) const;
    double to_double() const;  // rounded to binary64, nearest-even
    // Whether the sum is a binary64 value (to_double() is then the sum itself).
    bool fits_binary64() const;

  private:
    std::array<uint64_t, k_limbs> m_limbs{};
};

}  // namespace accsim
