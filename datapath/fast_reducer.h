#pragma once
// The fast replay: bit-identical to ReferenceReducer in everything a report says (final values,
// events per stage, exact results, observed partial-sum ranges), for a whole block of outputs
// that share a dot length. It works on exact chunk sums instead of single additions:
//
// Stage 1's inputs are split into chunks (its tiles, or pieces of at most k_max_chunk products
// of a tile). For every output and chunk a kernel (chunk_kernels.h) gives the exact sum S and an
// upper bound A of sum |p|. Within a chunk every partial sum lies in [u - P-, u + P+] around the
// sum u before it, with P+ = (A + S)/2 and P- = (A - S)/2. So:
//   - a register r that stays in range at both ends of [r - P-, r + P+] takes the chunk without
//     an event, and then holds r + S, exactly as the per-addition replay would (wrap or
//     saturate never act); otherwise that chunk alone is replayed addition by addition;
//   - a chunk whose [u - P-, u + P+] lies inside the partial-sum range already observed cannot
//     widen it; otherwise its partial sums are scanned exactly.
// A tree tile is screened whole (every node sum is a sum of contiguous products). Later stages
// see one value per stage-1 tile and are replayed exactly.
#include <cstdint>
#include <vector>

#include "accumulator_spec.h"
#include "chunk_kernels.h"
#include "value_range.h"

namespace accsim {

// The outcome of a block of rows x cols outputs.
struct OutputBlock {
    int64_t rows = 0, cols = 0;
    std::size_t stages = 0;
    std::vector<int64_t> final_value;  // [row * cols + col]: the last register at the end
    std::vector<int64_t> exact_dot;    // the exact dot product (no bias)
    std::vector<uint32_t> events;      // [(row * cols + col) * stages + stage]
    std::vector<ValueRange> observed;  // per stage, over the whole block (unbounded, no bias)
};

// How much of the work took the slow path (for the benchmark and profiles).
struct FastCounters {
    uint64_t chunks = 0;    // stage-1 chunks seen
    uint64_t replayed = 0;  // ... replayed addition by addition (a possible event)
    uint64_t scanned = 0;   // ... scanned for the observed range
    void add(const FastCounters& o) {
        chunks += o.chunks;
        replayed += o.replayed;
        scanned += o.scanned;
    }
};

class FastReducer {
  public:
    // Chunks of at most this many products; their sums fit 32 bits for 8-bit operands.
    static constexpr int64_t k_max_chunk = 64;

    // `k`: the dot length of every output this reducer replays.
    FastReducer(const AccumulatorSpec& spec, int64_t k);

    const AccumulatorSpec& spec() const { return m_spec; }
    int64_t k() const { return m_k; }

    // Weights packed for this reducer's chunks: build once per layer (or group), share
    // read-only between the tasks of every thread.
    PackedWeights pack(const int32_t* q, int64_t cols) const;

    // x: `rows` rows of k inputs; weights columns [c0, c0 + cols) (c0 a multiple of
    // k_pack_cols); bias: one per column of the block, or null. Values within 16 bits, signed
    // or unsigned, in dot-product order. Overwrites `out`.
    void run(const int32_t* x, int64_t rows, const PackedWeights& w, int64_t c0, int64_t cols,
             const int64_t* bias, OutputBlock& out);
    // The same, packing `cols` rows of q on the spot.
    void run(const int32_t* x, int64_t rows, const int32_t* q, int64_t cols, const int64_t* bias,
             OutputBlock& out);

    FastCounters counters;

  private:
    struct Chunk {
        int64_t begin, end;
        bool tile_start, tile_end;
    };

    // s, a: the output's chunk sums, `stride` apart.
    void output(const int32_t* x, const int32_t* q, const int64_t* s, const int64_t* a,
                int64_t stride, const int64_t* bias, int64_t& final_value, uint32_t* events);
    int64_t stage1_sequential(const int32_t* x, const int32_t* q, const int64_t* s,
                              const int64_t* a, int64_t stride, const int64_t* bias,
                              uint32_t& events);
    int64_t stage1_tree(const int32_t* x, const int32_t* q, const int64_t* s, const int64_t* a,
                        int64_t stride, const int64_t* bias, uint32_t& events);
    void later_stages(const int64_t* bias, int64_t& final_value, uint32_t* events);

    AccumulatorSpec m_spec;
    int64_t m_k;
    std::vector<Chunk> m_chunks;
    ChunkLayout m_layout;          // the chunks, for the kernels
    PackedInputs m_x;              // the block's inputs, packed
    std::vector<int64_t> m_s, m_a;  // chunk sums of the block, [row][chunk][col]
    // Per output: stage-1 tile results, bounded (the hardware's) and unbounded (exact).
    std::vector<int64_t> m_bounded, m_unbounded, m_next_bounded, m_next_unbounded;
    std::vector<int64_t> m_products, m_tree;
    std::vector<ValueRange> m_observed;
    // Stage 1's observed range, in 64 bits for the hot loop (merged into m_observed at the end).
    struct Range64 {
        int64_t lo = 0, hi = 0;
        bool empty = true;
        bool covers(int64_t a, int64_t b) const { return !empty && a >= lo && b <= hi; }
        void include(int64_t v) {
            if (empty) {
                lo = hi = v;
                empty = false;
            } else {
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        }
    } m_seen;
};

}  // namespace accsim
