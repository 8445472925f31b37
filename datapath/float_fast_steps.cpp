#include "datapath/float_fast_steps.h"

#include <climits>
#include <cmath>
#include <cstring>

#include "datapath/float_rounding.h"

namespace accsim {

namespace {

// A finite non-zero register value as sig * 2^lsb, sig < 2^53, and its alignment exponent.
struct Split {
    uint64_t sig;
    int lsb;
    int exp;
};

inline Split split(double c, int min_exponent) {
    uint64_t bits;
    std::memcpy(&bits, &c, sizeof bits);
    const int field = static_cast<int>((bits >> 52) & 0x7ff);
    const uint64_t frac = bits & ((uint64_t{1} << 52) - 1);
    // Registers have at most 10 exponent bits: their values are normal binary64 numbers.
    const int e = field - 1023;
    return {frac | (uint64_t{1} << 52), e - 52, e > min_exponent ? e : min_exponent};
}

// |v| * 2^sh truncated toward zero (sh may be negative), without branches: v < 2^53, and the
// result fits 63 bits by the caller.
inline int64_t shifted(uint64_t v, int sh) {
    const int left = sh > 0 ? sh : 0;
    const int right = sh < 0 ? (sh < -63 ? 63 : -sh) : 0;
    return static_cast<int64_t>((v << left) >> right);
}

}  // namespace

double fast_steps(const FloatValue* x, const FloatValue* w, int64_t n, double c, const FloatStep& s,
                  int64_t group, FastStepCounts& counts) {
    const int f = *s.fraction_bits;
    const int emin = s.format.min_exponent();
    uint64_t sig[k_fast_max_group];
    int lsb[k_fast_max_group], exp[k_fast_max_group];
    bool neg[k_fast_max_group];
    for (int64_t i0 = 0; i0 < n; i0 += group) {
        const int g = static_cast<int>(n - i0 < group ? n - i0 : group);
        int e_max = INT_MIN;
        for (int i = 0; i < g; ++i) {
            const FloatValue& a = x[i0 + i];
            const FloatValue& b = w[i0 + i];
            sig[i] = a.sig * b.sig;
            lsb[i] = a.lsb + b.lsb;
            exp[i] = a.exp + b.exp;
            neg[i] = a.negative != b.negative;
            const int e = sig[i] != 0 ? exp[i] : INT_MIN;  // zero terms never set the maximum
            e_max = e > e_max ? e : e_max;
        }
        Split cs{0, 0, INT_MIN};
        if (c != 0) {
            cs = split(c, emin);
            if (cs.exp > e_max) e_max = cs.exp;
        }
        if (e_max == INT_MIN) {  // nothing but zeros
            c = 0;
            continue;
        }
        const int unit = e_max - f;
        int64_t sum = 0;
        uint32_t swamped = 0;
        if (c != 0) {
            const int64_t t = shifted(cs.sig, cs.lsb - unit);
            sum = c < 0 ? -t : t;
        }
        for (int i = 0; i < g; ++i) {
            const int64_t t = shifted(sig[i], lsb[i] - unit);
            swamped += (sig[i] != 0) & (t == 0);
            const int64_t m = -static_cast<int64_t>(neg[i]);  // 0 or all ones
            sum += (t ^ m) - m;
        }
        counts.swamped += swamped;
        bool overflow = false;
        const uint64_t mag =
            sum < 0 ? uint64_t{0} - static_cast<uint64_t>(sum) : static_cast<uint64_t>(sum);
        c = round_to_format(sum < 0, mag, unit, false, s.format, s.rounding, overflow);
        counts.events += overflow;
        if (overflow) {
            // An infinite register stays infinite (finite terms cannot change it).
            return c;
        }
    }
    return c;
}

}  // namespace accsim
