#pragma once
// The fast replay's per-chunk screens for 16 outputs side by side (FastReducer's hot loop):
//
//     LaneScreen s{lo, hi, safe, width_lo, width_hi, seen};
//     const uint32_t fits = screen_lanes(s, S, A, R, U, dot);  // bit l: lane l's register fits
//
// For each lane l, with the chunk's exact sum S[l] and sum of magnitudes A[l], the chunk's
// partial sums rise at most up = (A + S + 1) / 2 and fall at most down = (A - S + 1) / 2 from
// where they start. Lane l's register fits the chunk when R[l] + up <= hi and R[l] - down >= lo
// (or the stage is proven safe); the observed width covers it when U[l] + up <= width_hi and
// U[l] - down >= width_lo (and something has been seen). When every lane passes both, the
// chunk is taken in one step, R, U and dot each gaining S, and the result is 0xffff | 1 << 16;
// otherwise nothing changes and the result is the mask of lanes whose register fits.
// AVX-512, AVX2 or portable, as kernel_choice() says; all give the same answer.
#include <cstdint>

namespace accsim {

inline constexpr uint32_t k_all_lanes_taken = 1u << 16;

struct LaneScreen {
    int64_t lo, hi;  // the register's range
    bool safe;       // stage 1 proven safe: the register screen always passes
    int64_t width_lo, width_hi;
    bool seen;  // an observed width exists
};

uint32_t screen_lanes(const LaneScreen& s, const int64_t* S, const int64_t* A, int64_t* R,
                      int64_t* U, int64_t* dot);

// The mask of lanes whose chunk the observed width covers (the second screen alone).
uint32_t covered_lanes(const LaneScreen& s, const int64_t* S, const int64_t* A, const int64_t* U);

}  // namespace accsim
