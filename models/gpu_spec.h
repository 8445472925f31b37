#pragma once
// A GPU target: the array of a GPU preset models one streaming multiprocessor; the whole chip
// has `sms` of them. Reports use it to state the chip's peak rate from the preset's numbers, so
// a reader can check them against the data sheet.
#include <cstdint>

namespace accsim {

struct GpuSpec {
    int64_t sms = 1;
};

}  // namespace accsim
