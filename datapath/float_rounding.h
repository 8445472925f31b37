#pragma once
// Rounding an exact binary value once into a register format eXmY: the last act of every float
// accumulation step (datapath/FLOAT.md).
//
//   bool overflow = false;
//   double r = round_to_format(false, 3, -1, false, register_format(8, 23), Rounding::rne,
//                              overflow);   // 1.5
#include <cstdint>

#include "datapath/enum_names.h"
#include "datapath/float_format.h"
#include "datapath/wide_int.h"

namespace accsim {

enum class Rounding { rne, rz };
inline constexpr EnumName<Rounding> k_rounding_names[] = {{Rounding::rne, "rne"},
                                                          {Rounding::rz, "rz"}};
inline const char* to_string(Rounding v) {
    return name_of(k_rounding_names, v);
}

// (-1)^negative * (mag + s) * 2^lsb_exp rounded to `f` with `mode`, where s is 0 when !sticky
// and some value strictly inside (0, 1) when sticky (bits below the window, all that matters of
// them). `sticky` requires the window to be wider than the result (mag >= 2^(mantissa_bits+2)).
// Results beyond f's largest finite value are infinities, in both modes (the tensor cores'
// behaviour), and set `overflow`. A result that is or rounds to zero is +0.
double round_to_format(bool negative, u128 mag, int lsb_exp, bool sticky, const FloatFormat& f,
                       Rounding mode, bool& overflow);

}  // namespace accsim
