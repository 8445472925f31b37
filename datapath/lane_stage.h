#pragma once
// The last stage of a two-stage accumulator for 16 outputs side by side: one tile over every
// stage-1 result, a register of at most 62 bits taking them one by one (wrap or saturate), and
// the unbounded prefix sums' extremes (FastReducer::last_stage_lanes):
//
//     int64_t r[16] = {...}, low[16], high[16];  // registers (bias loaded), extremes so far
//     uint32_t ev[16] = {...};
//     last_stage_lanes(bounded, unbounded, tiles, spec, r, ev, low, high);
//
// bounded and unbounded are [tile][16]: each tile's register result and exact sum. Every value
// is below 2^61, so each addition is exact in 64 bits. The same C++ compiled for AVX-512, AVX2
// or the baseline, as kernel_choice() says.
#include <cstddef>
#include <cstdint>

namespace accsim {

struct LastStage {
    int bits;  // <= 62
    bool wrap;
};

void last_stage_lanes(const int64_t* bounded, const int64_t* unbounded, std::size_t tiles,
                      const LastStage& stage, int64_t* r, uint32_t* ev, int64_t* low,
                      int64_t* high);

}  // namespace accsim
