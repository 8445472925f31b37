#include "datapath/exact_sum.h"

#include <stdexcept>

namespace accsim {

void ExactSum::add(bool negative, u128 mag, int lsb_exp) {
    if (mag == 0) return;
    if (lsb_exp < k_lsb) throw std::logic_error("ExactSum: value below the register's range");
    const int pos = lsb_exp - k_lsb;
    const int limb = pos / 64, shift = pos % 64;
    // The value as three limbs starting at `limb`.
    uint64_t part[3];
    part[0] = static_cast<uint64_t>(mag << shift);
    part[1] = static_cast<uint64_t>(shift == 0 ? mag >> 64 : mag >> (64 - shift));
    part[2] = shift == 0 ? 0 : static_cast<uint64_t>((mag >> 64) >> (64 - shift));
    if (limb + 3 > k_limbs) throw std::logic_error("ExactSum: value above the register's range");
    if (!negative) {
        unsigned carry = 0;
        int i = limb;
        for (int p = 0; p < 3; ++p, ++i) {
            const uint64_t a = m_limbs[i];
            const uint64_t s = a + part[p];
            const unsigned c1 = s < a;
            m_limbs[i] = s + carry;
            carry = c1 | (m_limbs[i] < s);
        }
        for (; carry && i < k_limbs; ++i) carry = ++m_limbs[i] == 0;
    } else {
        unsigned borrow = 0;
        int i = limb;
        for (int p = 0; p < 3; ++p, ++i) {
            const uint64_t a = m_limbs[i];
            const uint64_t d = a - part[p];
            const unsigned b1 = a < part[p];
            m_limbs[i] = d - borrow;
            borrow = b1 | (d < static_cast<uint64_t>(borrow));
        }
        for (; borrow && i < k_limbs; ++i) borrow = m_limbs[i]-- == 0;
    }
}

bool ExactSum::is_zero() const {
    for (uint64_t l : m_limbs)
        if (l) return false;
    return true;
}

double ExactSum::rounded(const FloatFormat& f, Rounding mode, bool& overflow) const {
    overflow = false;
    std::array<uint64_t, k_limbs> mag = m_limbs;
    const bool neg = negative();
    if (neg) {  // two's-complement negation
        unsigned carry = 1;
        for (uint64_t& l : mag) {
            l = ~l + carry;
            carry = carry && l == 0;
        }
    }
    int top = k_limbs - 1;
    while (top >= 0 && mag[top] == 0) --top;
    if (top < 0) return 0.0;
    // A 128-bit window whose leading bit is the sum's; what lies below only sets sticky.
    const int lead = 63 - __builtin_clzll(mag[top]) + 64 * top;  // bit index of the leading 1
    const int low = lead - 127;                                  // lowest bit in the window
    u128 window = 0;
    bool sticky = false;
    for (int l = 0; l <= top; ++l) {
        const int base = 64 * l;  // bit index of limb l's lowest bit
        if (base + 63 < low) {
            sticky = sticky || mag[l] != 0;
        } else if (base < low) {
            const int cut = low - base;
            sticky = sticky || (mag[l] & ((uint64_t{1} << cut) - 1)) != 0;
            window |= u128{mag[l] >> cut};
        } else {
            window |= u128{mag[l]} << (base - low);
        }
    }
    return round_to_format(neg, window, low + k_lsb, sticky, f, mode, overflow);
}

bool ExactSum::fits_binary64() const {
    static const FloatFormat binary64 = register_format(11, 52);
    bool overflow = false;
    // The sum is representable iff subtracting its rounding toward zero leaves nothing.
    const double rz = rounded(binary64, Rounding::rz, overflow);
    if (overflow) return false;
    ExactSum diff = *this;
    const FloatValue v = float_value(rz, binary64);
    diff.add(!v.negative, v.sig, v.lsb);
    return diff.is_zero();
}

double ExactSum::to_double() const {
    static const FloatFormat binary64 = register_format(11, 52);
    bool overflow = false;
    return rounded(binary64, Rounding::rne, overflow);
}

}  // namespace accsim
