#pragma once
// Binary floating-point formats: the operand formats a trace may store (e4m3, e5m2, fp16, bf16,
// fp32, tf32) and the accumulator registers eXmY of float stages (datapath/FLOAT.md).
//
//   const FloatFormat& f = operand_float_format("e4m3");
//   FloatValue v = f.decode(0x38);        // 1.0: v.sig = 8, v.exp = 0, v.lsb = -3
//   double d = f.to_double(0x7f);         // NaN (E4M3FN's only NaN pattern, with its sign twin)
//
// A finite value is sig * 2^lsb with sig < 2^(mantissa_bits + 1) and lsb = exp - mantissa_bits;
// exp is floor(log2 |value|) for normal values and the format's minimum exponent for subnormal
// ones, the exponent a tensor core aligns by.
#include <cstdint>
#include <optional>
#include <string>

namespace accsim {

enum class FloatClass : uint8_t { finite, infinite, nan };

struct FloatValue {
    FloatClass cls = FloatClass::finite;
    bool negative = false;
    int exp = 0;       // alignment exponent (meaningless for zero)
    int lsb = 0;       // exponent of the significand's last bit
    uint64_t sig = 0;  // 0 for zero
    bool is_zero() const { return cls == FloatClass::finite && sig == 0; }
};

struct FloatFormat {
    std::string name;   // "e4m3", "fp16", ... or "e8m13"
    int exponent_bits;  // 2..11
    int mantissa_bits;  // stored fraction bits that count (tf32: 10)
    int storage_bits;   // width of a stored code: 8, 16 or 32 (0: a register, never stored)
    // IEEE-like: the all-ones exponent holds infinities and NaNs. E4M3FN instead uses it for
    // normal values and keeps only S.1111.111 as NaN (no infinities).
    bool ieee_specials = true;
    int code_mantissa_bits = -1;  // fraction bits in a stored code (tf32: 23); -1: mantissa_bits

    int bias() const { return (1 << (exponent_bits - 1)) - 1; }
    int min_exponent() const { return 1 - bias(); }
    int max_exponent() const { return ieee_specials ? bias() : bias() + 1; }
    int stored_mantissa_bits() const {
        return code_mantissa_bits < 0 ? mantissa_bits : code_mantissa_bits;
    }
    double max_finite() const;
    // A stored code (the low storage_bits bits of `code`).
    FloatValue decode(uint32_t code) const;
    double to_double(uint32_t code) const;
    // The code of an exactly representable value (tests and writers); NaN gives the canonical
    // quiet NaN.
    uint32_t encode(double v) const;
    // Every format here is a subset of binary64, so doubles hold its values exactly.
    bool holds(double v) const;
};

// The register format eXmY (IEEE-like, with subnormals and infinities); X in 2..11, Y in 1..52.
FloatFormat register_format(int exponent_bits, int mantissa_bits);
inline constexpr int k_min_float_exponent_bits = 2, k_max_float_exponent_bits = 11;
inline constexpr int k_min_float_mantissa_bits = 1, k_max_float_mantissa_bits = 52;

// e4m3, e5m2, fp16, bf16, fp32, tf32; nullptr for another name.
const FloatFormat* find_operand_float_format(const std::string& name);
const FloatFormat& operand_float_format(const std::string& name);  // throws logic_error
// "e4m3, e5m2, fp16, bf16, fp32, tf32" for messages.
const char* operand_float_format_names();

// A finite double as a FloatValue in `f` (v must lie on f's grid: a register value).
FloatValue float_value(double v, const FloatFormat& f);

}  // namespace accsim
