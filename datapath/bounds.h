#pragma once
// Accumulator width bounds (datapath/README.md, "Bounds"). All exclude the bias. Closed forms are
// evaluated in exact integer arithmetic: ceil(log2(V + 1)) = bit_length(V) for integer V.
#include <cstdint>

#include "operand_format.h"
#include "wide_int.h"

namespace accsim {

// A2Q's data-type bound: ceil(a + log2(1 + 2^-a) + 1), a = log2(K) + N + M - signed(x) - signed(q).
// For signed weights this is A2Q's printed a = log2(K) + N + M - 1 - signed(x); for unsigned
// weights (largest magnitude 2^M - 1, not 2^(M-1)) the -1 term would make the bound unsafe.
// `extra`: a magnitude added on top (a bias), 0 for the bound itself.
int datatype_bits(int64_t k, const OperandFormat& x, const OperandFormat& q, u128 extra = 0);

// A2Q's per-channel L1 bound: ceil(b + log2(1 + 2^-b) + 1), b = log2(l1) + N - signed(x);
// 1 for an all-zero channel.
int a2q_bits(u128 l1_norm, const OperandFormat& x);

// A2Q+'s bound for zero-centred weights: ceil(log2(l1 * (2^N - 1) + 2)).
int a2q_plus_bits(u128 l1_norm, const OperandFormat& x);

}  // namespace accsim
