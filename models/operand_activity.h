#pragma once
// How many of a layer's products have a zero operand: the multiplies a zero-gating datapath
// can skip (with A2Q's narrow-accumulator weights most are). Exact, over every product of the
// layer, but cheap: each operand row becomes a bitmask of its nonzero entries, and an output's
// nonzero products are popcount(x_mask AND q_mask), 64 products per instruction.
#include <cstdint>

#include "models/layer_work.h"
#include "models/value_interfaces.h"

namespace accsim {

int64_t count_zero_products(const LayerWork& work, const OperandSource& source);

}  // namespace accsim
