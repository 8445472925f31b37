#include "datapath/float_packed.h"

#include <climits>
#include <cstring>

#include "datapath/float_rounding.h"
#include "datapath/kernel_choice.h"

namespace accsim {

PackedFloats pack_floats(const FloatValue* v, int64_t n, int mantissa_bits) {
    PackedFloats p;
    pack_floats(v, n, mantissa_bits, p);
    return p;
}

void pack_floats(const FloatValue* v, int64_t n, int mantissa_bits, PackedFloats& p) {
    p.sig.resize(static_cast<std::size_t>(n));
    p.exp.resize(static_cast<std::size_t>(n));
    p.mantissa_bits = mantissa_bits;
    p.finite = true;
    for (int64_t i = 0; i < n; ++i) {
        p.finite = p.finite && v[i].cls == FloatClass::finite;
        const int32_t s = static_cast<int32_t>(v[i].sig);
        p.sig[i] = v[i].negative ? -s : s;
        p.exp[i] = v[i].sig ? static_cast<int16_t>(v[i].exp) : k_packed_zero_exp;
    }
}

bool exact_fits_int64(const FloatFormat& fx, const FloatFormat& fw, int64_t k, int& base) {
    base = fx.min_exponent() - fx.mantissa_bits + fw.min_exponent() - fw.mantissa_bits;
    const int top = fx.max_exponent() + fw.max_exponent() + 2;  // every product < 2^top
    int growth = 0;
    while ((int64_t{1} << growth) < k) ++growth;
    return top - base + growth <= 62;
}

namespace {

// A finite non-zero register value as sig * 2^lsb (sig < 2^53) and its alignment exponent.
inline void split(double c, int min_exponent, uint64_t& sig, int& lsb, int& exp) {
    uint64_t bits;
    std::memcpy(&bits, &c, sizeof bits);
    const int e = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
    sig = (bits & ((uint64_t{1} << 52) - 1)) | (uint64_t{1} << 52);
    lsb = e - 52;
    exp = e > min_exponent ? e : min_exponent;
}

// One step's products: their exponents, signed values, and the largest exponent of the
// non-zero ones (INT_MIN / 2 if none).
__attribute__((always_inline)) inline int products(const int32_t* xs, const int16_t* xe,
                                                   const int32_t* ws, const int16_t* we, int g,
                                                   int32_t* e, int64_t* p) {
    int e_max = INT_MIN / 2;
    for (int i = 0; i < g; ++i) {
        e[i] = int32_t{xe[i]} + we[i];
        p[i] = int64_t{xs[i]} * ws[i];
        const int32_t ei = p[i] != 0 ? e[i] : INT_MIN / 2;
        e_max = ei > e_max ? ei : e_max;
    }
    return e_max;
}

// Their sum, each truncated toward zero at 2^(e_i + k) relative to its significand product
// (k = F - mantissa_sum - E), and how many non-zero ones truncated to nothing.
__attribute__((always_inline)) inline int64_t truncated_sum(const int32_t* e, const int64_t* p,
                                                            int g, int k, uint32_t& swamped) {
    int64_t sum = 0;
    uint32_t sw = 0;
    for (int i = 0; i < g; ++i) {
        const int sh = e[i] + k;
        const int left = sh > 0 ? sh : 0;
        const int right = sh < 0 ? (sh < -63 ? 63 : -sh) : 0;
        const int64_t m = p[i] >> 63;  // 0 or all ones
        const uint64_t mag = static_cast<uint64_t>((p[i] ^ m) - m);
        const uint64_t t = (mag << left) >> right;
        sw += static_cast<uint32_t>((mag != 0) & (t == 0));
        sum += (static_cast<int64_t>(t) ^ m) - m;
    }
    swamped += sw;
    return sum;
}

__attribute__((always_inline)) inline double body(const int32_t* xs, const int16_t* xe,
                                                  const int32_t* ws, const int16_t* we, int64_t n,
                                                  double c, const FloatStep& s, int64_t group,
                                                  int mantissa_sum, FastStepCounts& counts) {
    const int f = *s.fraction_bits;
    const int emin = s.format.min_exponent();
    int32_t e[k_fast_max_group];
    int64_t p[k_fast_max_group];
    for (int64_t i0 = 0; i0 < n; i0 += group) {
        const int g = static_cast<int>(n - i0 < group ? n - i0 : group);
        int e_max = products(xs + i0, xe + i0, ws + i0, we + i0, g, e, p);
        uint64_t csig = 0;
        int clsb = 0, cexp = INT_MIN / 2;
        if (c != 0) {
            split(c, emin, csig, clsb, cexp);
            e_max = cexp > e_max ? cexp : e_max;
        }
        if (e_max == INT_MIN / 2) {  // nothing but zeros
            c = 0;
            continue;
        }
        const int unit = e_max - f;
        int64_t sum = truncated_sum(e, p, g, f - mantissa_sum - e_max, counts.swamped);
        if (c != 0) {
            const int sh = clsb - unit;
            const int64_t t = sh >= 0 ? static_cast<int64_t>(csig << sh)
                                      : (-sh >= 64 ? 0 : static_cast<int64_t>(csig >> -sh));
            sum += c < 0 ? -t : t;
        }
        bool overflow = false;
        const uint64_t mag =
            sum < 0 ? uint64_t{0} - static_cast<uint64_t>(sum) : static_cast<uint64_t>(sum);
        c = round_to_format(sum < 0, mag, unit, false, s.format, s.rounding, overflow);
        counts.events += overflow;
        if (overflow) return c;  // an infinite register stays infinite
    }
    return c;
}

__attribute__((always_inline)) inline int64_t exact_body(const int32_t* xs, const int16_t* xe,
                                                         const int32_t* ws, const int16_t* we,
                                                         int64_t n, int shift0) {
    int64_t sum = 0;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t prod = int64_t{xs[i]} * ws[i];
        const int sh = int32_t{xe[i]} + we[i] + shift0;
        // Zero products carry the zero exponent: a negative shift count, masked to nothing.
        const int64_t m = prod >> 63;
        const uint64_t mag = static_cast<uint64_t>((prod ^ m) - m);
        const uint64_t v = sh >= 0 ? mag << (sh & 63) : 0;
        sum += (static_cast<int64_t>(v) ^ m) - m;
    }
    return sum;
}

#define ACCSIM_PACKED_VARIANT(NAME, ATTR)                                                \
    ATTR double steps_##NAME(const int32_t* xs, const int16_t* xe, const int32_t* ws,    \
                             const int16_t* we, int64_t n, double c, const FloatStep& s, \
                             int64_t group, int mantissa_sum, FastStepCounts& counts) {  \
        return body(xs, xe, ws, we, n, c, s, group, mantissa_sum, counts);               \
    }                                                                                    \
    ATTR int64_t exact_##NAME(const int32_t* xs, const int16_t* xe, const int32_t* ws,   \
                              const int16_t* we, int64_t n, int shift0) {                \
        return exact_body(xs, xe, ws, we, n, shift0);                                    \
    }

ACCSIM_PACKED_VARIANT(avx512, __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq"))))
ACCSIM_PACKED_VARIANT(avx2, __attribute__((target("avx2"))))
ACCSIM_PACKED_VARIANT(portable, )
#undef ACCSIM_PACKED_VARIANT

}  // namespace

double packed_steps(const int32_t* xs, const int16_t* xe, const int32_t* ws, const int16_t* we,
                    int64_t n, double c, const FloatStep& s, int64_t group, int mantissa_sum,
                    FastStepCounts& counts) {
    switch (kernel_choice()) {
        case Kernel::avx512:
            return steps_avx512(xs, xe, ws, we, n, c, s, group, mantissa_sum, counts);
        case Kernel::avx2:
            return steps_avx2(xs, xe, ws, we, n, c, s, group, mantissa_sum, counts);
        case Kernel::portable:
            break;
    }
    return steps_portable(xs, xe, ws, we, n, c, s, group, mantissa_sum, counts);
}

int64_t packed_exact(const int32_t* xs, const int16_t* xe, const int32_t* ws, const int16_t* we,
                     int64_t n, int mantissa_sum, int base) {
    // A product's last bit is at 2^(e - mantissa_sum): shift it up by e - mantissa_sum - base.
    const int shift0 = -mantissa_sum - base;
    switch (kernel_choice()) {
        case Kernel::avx512:
            return exact_avx512(xs, xe, ws, we, n, shift0);
        case Kernel::avx2:
            return exact_avx2(xs, xe, ws, we, n, shift0);
        case Kernel::portable:
            break;
    }
    return exact_portable(xs, xe, ws, we, n, shift0);
}

}  // namespace accsim
