#pragma once
// The range of values a register took, for observed-width bounds.
#include "wide_int.h"

namespace accsim {

struct ValueRange {
    i128 lo = 0;
    i128 hi = 0;
    bool empty = true;

    void include(i128 v) {
        if (empty) {
            lo = hi = v;
            empty = false;
        } else {
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
    }
    void merge(const ValueRange& o) {
        if (o.empty) return;
        include(o.lo);
        include(o.hi);
    }
    // Narrowest two's-complement width holding the range; 1 when nothing was seen.
    int bits() const { return empty ? 1 : signed_bits(lo, hi); }
};

}  // namespace accsim
