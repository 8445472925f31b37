#pragma once
// The integer format of one operand (input, weight, or a matmul side): 1..16 bits, signed
// (two's complement) or unsigned, optionally with a narrower range of values inside those bits
// (a narrow-range quantizer's [-127, 127] in 8 bits, a bipolar one's [-1, 1] in 2), which then is
// what min() and max() return: the values the exact bound lets the operand take.
#include <cstdint>
#include <string>

namespace accsim {

struct OperandFormat {
    static constexpr int k_min_bits = 1;
    static constexpr int k_max_bits = 16;

    int bits = 8;
    bool is_signed = true;
    bool has_range = false;  // range_lo <= 0 <= range_hi, inside the bits' range
    int64_t range_lo = 0;
    int64_t range_hi = 0;

    // The range of the bits alone.
    int64_t type_min() const { return is_signed ? -(int64_t{1} << (bits - 1)) : 0; }
    int64_t type_max() const {
        return is_signed ? (int64_t{1} << (bits - 1)) - 1 : (int64_t{1} << bits) - 1;
    }
    int64_t min() const { return has_range ? range_lo : type_min(); }
    int64_t max() const { return has_range ? range_hi : type_max(); }
    bool contains(int64_t v) const { return v >= min() && v <= max(); }
    // Largest magnitude a value can have: 2^(bits-1) signed, 2^bits - 1 unsigned.
    int64_t max_magnitude() const { return is_signed ? -min() : max(); }
    // "8-bit unsigned [0, 255]", "2-bit signed, range [-1, 1]"
    std::string describe() const;
};

}  // namespace accsim
