#include "datapath/float_format.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace accsim {

double FloatFormat::max_finite() const {
    // E4M3FN's largest pattern is S.1111.110: one significand step below the IEEE form's.
    const double frac = ieee_specials ? 2.0 - std::ldexp(1.0, -mantissa_bits)
                                      : 2.0 - std::ldexp(2.0, -mantissa_bits);
    return std::ldexp(frac, max_exponent());
}

FloatValue FloatFormat::decode(uint32_t code) const {
    const int man_stored = stored_mantissa_bits();
    const uint32_t man_mask = (uint32_t{1} << man_stored) - 1;
    const uint32_t exp_mask = (uint32_t{1} << exponent_bits) - 1;
    FloatValue v;
    v.negative = (code >> (exponent_bits + man_stored)) & 1u;
    const uint32_t e = (code >> man_stored) & exp_mask;
    // tf32: the low bits of the stored fp32 mantissa are ignored.
    const uint32_t m = (code & man_mask) >> (man_stored - mantissa_bits);
    if (e == exp_mask) {
        if (ieee_specials) {
            // tf32 clears the ignored bits first, as the hardware does (an fp32 NaN whose
            // payload lies only there reads as an infinity).
            v.cls = m == 0 ? FloatClass::infinite : FloatClass::nan;
            return v;
        }
        if (m == (uint32_t{1} << mantissa_bits) - 1) {
            v.cls = FloatClass::nan;
            return v;
        }
    }
    if (e == 0) {
        v.exp = min_exponent();
        v.sig = m;
    } else {
        v.exp = static_cast<int>(e) - bias();
        v.sig = (uint64_t{1} << mantissa_bits) | m;
    }
    v.lsb = v.exp - mantissa_bits;
    return v;
}

double FloatFormat::to_double(uint32_t code) const {
    const FloatValue v = decode(code);
    if (v.cls == FloatClass::nan) return std::numeric_limits<double>::quiet_NaN();
    if (v.cls == FloatClass::infinite)
        return v.negative ? -std::numeric_limits<double>::infinity()
                          : std::numeric_limits<double>::infinity();
    const double mag = std::ldexp(static_cast<double>(v.sig), v.lsb);
    return v.negative ? -mag : mag;
}

bool FloatFormat::holds(double v) const {
    if (std::isnan(v)) return true;
    if (std::isinf(v)) return ieee_specials;
    if (v == 0) return true;
    if (std::fabs(v) > max_finite()) return false;
    const int e = std::max(std::ilogb(v), min_exponent());
    const double steps = std::ldexp(std::fabs(v), mantissa_bits - e);
    return steps == std::floor(steps);
}

uint32_t FloatFormat::encode(double v) const {
    if (!holds(v)) throw std::logic_error(name + ": value not representable");
    const int man_stored = stored_mantissa_bits();
    const uint32_t exp_mask = (uint32_t{1} << exponent_bits) - 1;
    const uint32_t sign = std::signbit(v) ? uint32_t{1} << (exponent_bits + man_stored) : 0;
    if (std::isnan(v)) {
        if (!ieee_specials) return (exp_mask << man_stored) | ((uint32_t{1} << man_stored) - 1);
        return (exp_mask << man_stored) | (uint32_t{1} << (man_stored - 1));
    }
    if (std::isinf(v)) return sign | (exp_mask << man_stored);
    if (v == 0) return sign;
    const double a = std::fabs(v);
    const int e = std::max(std::ilogb(a), min_exponent());
    const uint64_t sig = static_cast<uint64_t>(std::ldexp(a, mantissa_bits - e));
    const bool normal = sig >> mantissa_bits;
    const uint32_t field = normal ? static_cast<uint32_t>(e + bias()) : 0;
    const uint32_t m = static_cast<uint32_t>(sig & ((uint64_t{1} << mantissa_bits) - 1));
    return sign | (field << man_stored) | (m << (man_stored - mantissa_bits));
}

FloatFormat register_format(int exponent_bits, int mantissa_bits) {
    FloatFormat f;
    f.name = "e" + std::to_string(exponent_bits) + "m" + std::to_string(mantissa_bits);
    f.exponent_bits = exponent_bits;
    f.mantissa_bits = mantissa_bits;
    f.storage_bits = 0;
    return f;
}

namespace {

const FloatFormat k_operand_formats[] = {
    {"e4m3", 4, 3, 8, false, -1}, {"e5m2", 5, 2, 8, true, -1},   {"fp16", 5, 10, 16, true, -1},
    {"bf16", 8, 7, 16, true, -1}, {"fp32", 8, 23, 32, true, -1}, {"tf32", 8, 10, 32, true, 23},
};

}  // namespace

const FloatFormat* find_operand_float_format(const std::string& name) {
    for (const FloatFormat& f : k_operand_formats)
        if (f.name == name) return &f;
    return nullptr;
}

const FloatFormat& operand_float_format(const std::string& name) {
    const FloatFormat* f = find_operand_float_format(name);
    if (!f) throw std::logic_error("unknown float format " + name);
    return *f;
}

const char* operand_float_format_names() {
    return "e4m3, e5m2, fp16, bf16, fp32, tf32";
}

FloatValue float_value(double v, const FloatFormat& f) {
    FloatValue r;
    r.negative = std::signbit(v);
    if (std::isnan(v)) {
        r.cls = FloatClass::nan;
        return r;
    }
    if (std::isinf(v)) {
        r.cls = FloatClass::infinite;
        return r;
    }
    if (v == 0) return r;
    const double a = std::fabs(v);
    r.exp = std::max(std::ilogb(a), f.min_exponent());
    r.lsb = r.exp - f.mantissa_bits;
    r.sig = static_cast<uint64_t>(std::ldexp(a, -r.lsb));
    return r;
}

}  // namespace accsim
