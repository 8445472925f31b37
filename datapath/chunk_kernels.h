#pragma once
// The arithmetic core of the fast replay: for a block of outputs, the exact sum S of every chunk
// of products and the exact sum A of their magnitudes (sum |x| |q|, the same kernel run on the
// operands' magnitudes, the weights' taken on the fly).
//
// Operands whose products stay below 2^25 in magnitude (8-bit ones, up to 12 x 12 bits) take the
// packed path: both operands as 16-bit pairs, a chunk padded to an even length, so that one
// multiply-add of two 16-bit pairs (pmaddwd; vpdpwssd with AVX-512 VNNI) yields two products at
// once and a chunk of up to 64 products sums exactly in 32 bits. Weights are packed once per
// layer, eight or sixteen columns interleaved, so that a vector holds one pair of many columns
// and an input pair is broadcast against it: no horizontal sums. Wider operands take the wide
// path (64-bit products, plain C++). Every kernel gives the same S.
#include <cstdint>
#include <vector>

#include "kernel_choice.h"
#include "tensor_values.h"

namespace accsim {

// Where the chunks lie along k, and where their (padded) pairs start.
struct ChunkLayout {
    std::vector<int64_t> begin;       // chunks + 1 boundaries along k
    std::vector<int64_t> pair_begin;  // chunks + 1 boundaries along the packed pairs
    std::vector<int64_t> quad_begin;  // ... along packed quads (quad_kernels.h)
    int64_t chunks() const { return static_cast<int64_t>(begin.size()) - 1; }
    int64_t pairs() const { return pair_begin.back(); }
    int64_t quads() const { return quad_begin.back(); }
};
ChunkLayout make_chunk_layout(const std::vector<int64_t>& chunk_begin_with_k);

// Products of these magnitudes take the packed path.
inline bool packable(int64_t max_abs_x, int64_t max_abs_q) {
    return max_abs_x <= 32767 && max_abs_q <= 32767 && max_abs_x * max_abs_q < (int64_t{1} << 25);
}

// Columns interleaved per group in the packed weights (one 512-bit vector of 32-bit lanes).
inline constexpr int64_t k_pack_cols = 16;

// A layer's weights (cols rows of k), packed once and shared read-only by every task. The
// weights themselves are not copied: `wide` points at the caller's.
struct PackedWeights {
    int64_t cols = 0, k = 0;
    int64_t max_abs = 0;
    bool packed = false;            // the 16-bit pair layout is filled
    TensorValues<int32_t> q;        // [group][pair][k_pack_cols] of two int16 (|q| < 2^15)
    bool quads = false;             // instead, the 8-bit quad layout (quad_kernels.h)
    TensorValues<int32_t> q4;       // [group][quad][k_pack_cols] of four int8 (|q| <= 127)
    std::vector<int32_t> q4_sums;   // [group][chunk][k_pack_cols]: each chunk's sum of q
    const int32_t* wide = nullptr;  // cols x k, the caller's (they must outlive this)
};
// Column groups are packed on `threads` threads. quads: the 8-bit layout where it applies
// (quad_kernels.h: every weight a signed byte; the caller knows the inputs are bytes).
PackedWeights pack_weights(const ChunkLayout& layout, const int32_t* q, int64_t cols, int64_t k,
                           bool allow_packed, int threads = 1, bool quads = false);

// Inputs of a block (rows of k), in the layout that goes with the weights'.
struct PackedInputs {
    int64_t rows = 0;
    int64_t max_abs = 0;
    bool has_negative = false;
    std::vector<int32_t> x;      // [row][pair] of two int16
    std::vector<int32_t> x_abs;  // the same, of |x|
};
void pack_inputs(const ChunkLayout& layout, const int32_t* x, int64_t rows, int64_t k,
                 PackedInputs& out);

// Chunk sums of rows x [c0, c0 + cols) (c0 a multiple of k_pack_cols for packed weights), into
// s (signed) and a (magnitudes), both laid out [row][chunk][col - c0].
struct ChunkSums {
    const ChunkLayout* layout;
    const PackedWeights* w;
    int64_t c0, cols;
    int64_t* s;
    int64_t* a;
};
void chunk_sums_wide(const ChunkSums& job, const int32_t* x, int64_t rows);
// Rows [row0, row0 + rows) of the packed inputs.
void chunk_sums_packed(const ChunkSums& job, const PackedInputs& x, int64_t row0, int64_t rows);

}  // namespace accsim
