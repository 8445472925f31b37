#pragma once
// The fast replay's 8-bit path on AVX-512 VNNI: when every weight fits a signed byte (|q| <= 127)
// and every input an unsigned or a signed byte, four products share a 32-bit lane and one
// vpdpbusd (unsigned bytes x signed bytes, summed exactly in 32 bits) does the work of two
// vpdpwssd of the 16-bit pair path (chunk_kernels.h):
//
//     PackedWeights w = pack_weights(layout, q, cols, k, true, threads, /*quads=*/true);
//     QuadInputs x;  pack_input_quads(layout, xs, rows, k, x);   // x.fits: every value a byte
//     chunk_sums_quads(job, x, 0, rows);                          // S and A, as the pair path's
//
// Signed inputs enter as x + 128 (an unsigned byte) and the chunk's weight sum times 128 is taken
// back off; magnitudes |x| <= 128 and |q| <= 127 enter as they are. A chunk is padded to a
// multiple of four with zero products. The per-addition replay of 16 registers reads its
// products from the same quads (replay_lanes_quads). Only the AVX-512 kernel choice uses this
// layout; AVX2 and portable keep the pairs.
#include <cstdint>
#include <vector>

#include "chunk_kernels.h"

namespace accsim {

// Whether weights are packed in quads on this machine (the AVX-512 VNNI kernels are chosen).
bool quads_in_use();

// The weights' quads and per-chunk sums (into w.q4, w.q4_sums).
void pack_weight_quads(const ChunkLayout& layout, const int32_t* q, int64_t cols, int64_t k,
                       PackedWeights& w, int threads);

// A block's inputs as quads of bytes: [row][quad], four x values (x + 128 when signed).
struct QuadInputs {
    std::vector<int32_t> x;
    bool is_signed = false;
    bool fits = false;  // every value in [0, 255] (unsigned) or [-128, 127] (signed)
};
void pack_input_quads(const ChunkLayout& layout, const int32_t* x, int64_t rows, int64_t k,
                      QuadInputs& out);

// Chunk sums of rows [row0, row0 + rows) against the quads of job.w (as chunk_sums_packed).
void chunk_sums_quads(const ChunkSums& job, const QuadInputs& x, int64_t row0, int64_t rows);

// replay_lanes (lane_replay.h) with products read from quads: xq the row's quads (as packed
// above), wq the group's ([quad][16]), quads [q0, q1).
void replay_lanes_quads(const int32_t* xq, bool x_signed, const int32_t* wq, int64_t q0, int64_t q1,
                        int bits, bool wrap, int32_t* r, uint32_t* ev);

}  // namespace accsim
