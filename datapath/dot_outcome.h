#pragma once
// What replaying one dot product through an accumulator yields.
#include <cstdint>
#include <vector>

#include "value_range.h"
#include "wide_int.h"

namespace accsim {

struct DotOutcome {
    int64_t final_value = 0;  // what the last stage's register holds at the end
    i128 exact = 0;           // the exact sum of products, plus the bias where the spec adds it
    i128 exact_dot = 0;       // the exact sum of products alone
    std::vector<uint64_t> events_by_stage;      // overflow events (additions or tree loads)
    std::vector<ValueRange> observed_by_stage;  // partial sums of an unbounded replay, no bias

    uint64_t events() const {
        uint64_t n = 0;
        for (uint64_t e : events_by_stage) n += e;
        return n;
    }
    bool corrupted() const { return final_value != exact; }
};

}  // namespace accsim
