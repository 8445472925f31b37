#include "datapath/float_rounding.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace accsim {

double round_to_format(bool negative, u128 mag, int lsb_exp, bool sticky, const FloatFormat& f,
                       Rounding mode, bool& overflow) {
    overflow = false;
    if (mag == 0) {
        if (sticky) throw std::logic_error("round_to_format: sticky bits without a window");
        return 0.0;
    }
    const int top = bit_length(mag) - 1 + lsb_exp;  // exponent of the leading bit
    // The result's last bit: mantissa_bits below the leading bit, or the subnormal grid.
    const int q = std::max(top, f.min_exponent()) - f.mantissa_bits;
    const int drop = q - lsb_exp;
    u128 kept;
    if (drop <= 0) {
        if (sticky) throw std::logic_error("round_to_format: window narrower than the result");
        kept = mag << -drop;  // exact: at most mantissa_bits + 1 bits
    } else {
        kept = drop >= 128 ? 0 : mag >> drop;
        if (mode == Rounding::rne) {
            // Compare the dropped part (plus sticky) with half a unit of the last kept bit.
            bool up;
            if (drop > 128) {
                up = false;  // everything dropped lies below 2^(drop-2): under half
            } else {
                const u128 rem = drop == 128 ? mag : mag & ((u128{1} << drop) - 1);
                const u128 half = u128{1} << (drop - 1);
                up = rem > half || (rem == half && (sticky || (kept & 1)));
            }
            kept += up;
        }
    }
    int lsb = q;
    if (kept >> (f.mantissa_bits + 1)) {  // rounding carried into a new leading bit
        kept >>= 1;
        ++lsb;
    }
    if (kept != 0 && bit_length(kept) - 1 + lsb > f.max_exponent()) {
        overflow = true;
        return negative ? -std::numeric_limits<double>::infinity()
                        : std::numeric_limits<double>::infinity();
    }
    // A result that rounds to zero is +0, whatever the sign of the sum (as the tensor cores'
    // models give it).
    if (kept == 0) return 0.0;
    const double r = std::ldexp(static_cast<double>(static_cast<uint64_t>(kept)), lsb);
    return negative ? -r : r;
}

}  // namespace accsim
