#pragma once
// How many of a layer's products have a zero operand: the multiplies a zero-gating datapath
// can skip (with A2Q's narrow-accumulator weights most are). Exact, over every product of the
// layer, but cheap: each operand row becomes a bitmask of its nonzero entries, and an output's
// nonzero products are popcount(x_mask AND q_mask), 64 products per instruction.
#include <cstdint>

#include "models/layer_work.h"
#include "models/value_interfaces.h"

namespace accsim {

struct ZeroProducts {
    int64_t either = 0;  // x == 0 or q == 0
    int64_t input = 0;   // x == 0 (what gating on activations skips, as Eyeriss does)
    int64_t weight = 0;  // q == 0 (what gating on weights skips: A2Q's sparse weights)
};

ZeroProducts count_zero_products(const LayerWork& work, const OperandSource& source);

}  // namespace accsim
