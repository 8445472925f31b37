#include "bounds.h"

namespace accsim {

int datatype_bits(int64_t k, const OperandFormat& x, const OperandFormat& q, u128 extra) {
    // 2^a = K * 2^(N - signed(x)) * 2^(M - signed(q)), the largest |sum| the formats allow
    // (up to the "+1" of unsigned maxima, which the +log2(1 + 2^-a) term absorbs).
    const int shift = x.bits - x.is_signed + q.bits - q.is_signed;
    const u128 v = (static_cast<u128>(k) << shift) + extra;
    return bit_length(v) + 1;
}

int a2q_bits(u128 l1_norm, const OperandFormat& x) {
    const u128 v = l1_norm << (x.bits - x.is_signed);  // ||q||_1 * max|x|
    return bit_length(v) + 1;
}

int a2q_plus_bits(u128 l1_norm, const OperandFormat& x) {
    const u128 v = l1_norm * ((u128{1} << x.bits) - 1) + 2;
    return bit_length(v - 1);  // ceil(log2 v) for v >= 2
}

}  // namespace accsim
