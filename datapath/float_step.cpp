#include "datapath/float_step.h"

#include <climits>
#include <cmath>
#include <limits>

#include "datapath/exact_sum.h"

namespace accsim {

Term product(const FloatValue& a, const FloatValue& b) {
    Term t;
    t.negative = a.negative != b.negative;
    if (a.cls == FloatClass::nan || b.cls == FloatClass::nan) {
        t.cls = FloatClass::nan;
    } else if (a.cls == FloatClass::infinite || b.cls == FloatClass::infinite) {
        t.cls = a.is_zero() || b.is_zero() ? FloatClass::nan : FloatClass::infinite;
    } else {
        t.exp = a.exp + b.exp;
        t.lsb = a.lsb + b.lsb;
        t.sig = u128{a.sig} * b.sig;
    }
    return t;
}

FloatValue integer_value(int64_t v) {
    FloatValue r;
    r.negative = v < 0;
    const uint64_t mag = v < 0 ? uint64_t{0} - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    r.sig = mag;
    r.lsb = 0;
    r.exp = mag ? 63 - __builtin_clzll(mag) : 0;
    return r;
}

namespace {

constexpr double k_inf = std::numeric_limits<double>::infinity();

}  // namespace

StepOutcome fused_step(const Term* terms, int n, double c, const FloatStep& s) {
    StepOutcome out;
    // Special values first: NaN wins, then infinities (opposite ones make NaN).
    bool nan = std::isnan(c), pos_inf = c == k_inf, neg_inf = c == -k_inf;
    for (int i = 0; i < n; ++i) {
        if (terms[i].cls == FloatClass::nan) nan = true;
        if (terms[i].cls == FloatClass::infinite) (terms[i].negative ? neg_inf : pos_inf) = true;
    }
    if (nan || (pos_inf && neg_inf)) {
        out.value = std::numeric_limits<double>::quiet_NaN();
        return out;
    }
    if (pos_inf || neg_inf) {
        out.value = pos_inf ? k_inf : -k_inf;
        return out;
    }
    const FloatValue cv = float_value(c, s.format);
    // The largest exponent among the non-zero terms, and the lowest bit any of them has.
    int e_max = INT_MIN, low = INT_MAX;
    if (!cv.is_zero()) {
        e_max = cv.exp;
        low = cv.lsb;
    }
    for (int i = 0; i < n; ++i) {
        if (terms[i].sig == 0) continue;
        e_max = std::max(e_max, terms[i].exp);
        low = std::min(low, terms[i].lsb);
    }
    if (e_max == INT_MIN) return out;  // nothing but zeros: +0
    int f = s.fraction_bits ? *s.fraction_bits : e_max - low;
    if (!s.fraction_bits && f > k_max_fraction_bits) {
        // Exact addition of terms too far apart for 128 bits; no truncation, nothing swamped.
        ExactSum sum;
        sum.add(cv.negative, cv.sig, cv.lsb);
        for (int i = 0; i < n; ++i) sum.add(terms[i].negative, terms[i].sig, terms[i].lsb);
        out.value = sum.rounded(s.format, s.rounding, out.overflow);
        return out;
    }
    // Every term truncated toward zero to a multiple of 2^unit, in units of 2^unit.
    const int unit = e_max - f;
    auto truncated = [unit](u128 sig, int lsb) -> u128 {
        const int sh = lsb - unit;
        if (sh >= 0) return sig << sh;
        return -sh >= 128 ? 0 : sig >> -sh;
    };
    i128 sum = 0;
    if (!cv.is_zero()) {
        const u128 t = truncated(cv.sig, cv.lsb);
        sum += cv.negative ? -static_cast<i128>(t) : static_cast<i128>(t);
    }
    for (int i = 0; i < n; ++i) {
        if (terms[i].sig == 0) continue;
        const u128 t = truncated(terms[i].sig, terms[i].lsb);
        out.swamped += t == 0;
        sum += terms[i].negative ? -static_cast<i128>(t) : static_cast<i128>(t);
    }
    out.value =
        round_to_format(sum < 0, abs_u128(sum), unit, false, s.format, s.rounding, out.overflow);
    return out;
}

}  // namespace accsim
