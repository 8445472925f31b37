#pragma once
// The per-addition replay of one chunk for 16 outputs at once: one row of inputs against the 16
// columns of one packed weight group (chunk_kernels.h), each column's register taking the
// chunk's products one by one, wrapping or saturating, and counting its events:
//
//     int32_t r[16] = {...};    // each register's value before the chunk (within `bits`)
//     uint32_t ev[16] = {...};  // each register's events so far
//     replay_lanes(x_row_pairs, group_pairs, pair_begin, pair_end, 12, true, r, ev);
//
// The registers sit in 32-bit lanes (bits <= 31, products below 2^25: packable operands), so a
// step is a multiply-add of a 16-bit pair, an add, a wrap (two shifts) or a clamp (min, max) and
// a compare, 8 or 16 lanes per instruction. Padding pairs (zero products) never wrap or clamp,
// so they change nothing. AVX-512 VNNI, AVX2 or portable, as kernel_choice() says; all equal
// the scalar replay exactly (tests/unit/test_fast_reducer.cpp).
#include <cstdint>

namespace accsim {

inline constexpr int k_replay_lanes = 16;

// Registers up to this width replay in 32-bit lanes.
inline bool lane_replay_fits(int bits) {
    return bits <= 31;
}

// xp: the row's packed pairs; wq: the group's packed weights ([pair][16] of two int16); pairs
// [p0, p1). wrap: wrap (else saturate) to `bits`.
void replay_lanes(const int32_t* xp, const int32_t* wq, int64_t p0, int64_t p1, int bits, bool wrap,
                  int32_t* r, uint32_t* ev);

}  // namespace accsim
