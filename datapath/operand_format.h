#pragma once
// The integer format of one operand (input, weight, or a matmul side): 1..16 bits, signed
// (two's complement) or unsigned.
#include <cstdint>
#include <string>

namespace accsim {

struct OperandFormat {
    static constexpr int k_min_bits = 1;
    static constexpr int k_max_bits = 16;

    int bits = 8;
    bool is_signed = true;

    int64_t min() const { return is_signed ? -(int64_t{1} << (bits - 1)) : 0; }
    int64_t max() const {
        return is_signed ? (int64_t{1} << (bits - 1)) - 1 : (int64_t{1} << bits) - 1;
    }
    bool contains(int64_t v) const { return v >= min() && v <= max(); }
    // Largest magnitude a value can have: 2^(bits-1) signed, 2^bits - 1 unsigned.
    int64_t max_magnitude() const { return is_signed ? -min() : max(); }
    // "8-bit unsigned [0, 255]"
    std::string describe() const;
};

}  // namespace accsim
