#pragma once
// The fast replay: identical to ReferenceReducer in everything a report says (final values,
// events per stage, exact results, the width of the observed partial sums), for a block of
// outputs that share a dot length. It works on exact chunk sums instead of single additions:
//
// Stage 1's inputs are split into chunks (its tiles, or pieces of at most k_max_chunk products
// of a tile). A kernel (chunk_kernels.h) gives every output's exact chunk sums S and sums of
// magnitudes A = sum |p|. Within a chunk every partial sum lies in [u - P-, u + P+] around the
// sum u before it, with P+ = (A + S)/2 and P- = (A - S)/2. So:
//   - a register r that stays in range at both ends of [r - P-, r + P+] takes the chunk without
//     an event, and then holds r + S, exactly as the per-addition replay would (wrap or
//     saturate never act); otherwise that chunk alone is replayed addition by addition. When
//     the layer's exact static bound proves stage 1 safe, this screen is skipped altogether;
//   - a chunk whose [u - P-, u + P+] fits the width already observed cannot widen it; otherwise
//     its partial sums are scanned exactly. The width comes out exact; the extremes it reports
//     are those of the scanned chunks (reports only ever show widths).
// A tree tile is screened whole (every node sum is a sum of contiguous products). Later stages
// see one value per stage-1 tile and are replayed exactly.
//
// How the work is laid out: a block's outputs go 16 columns (one packed weight group) at a
// time; their chunk sums are made for 8 rows at once and screened while still in the cache.
// The 16 outputs of a row are screened side by side (lane_screen.h); when any of them must be
// replayed, all 16 are, in 32-bit lanes (lane_replay.h), and while chunks keep failing the
// screen the replay takes the next 2, 4, ... 64 chunks of the tile in one call. A two-stage
// accumulator's last stage runs for the 16 outputs at once (lane_stage.h).
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
    // Per stage, over the block (unbounded, no bias): exact in width (bits()).
    std::vector<ValueRange> observed;
};

// How much of the work took the slow paths (for the benchmark and profiles).
struct FastCounters {
    uint64_t chunks = 0;    // stage-1 chunks seen
    uint64_t replayed = 0;  // ... replayed addition by addition (lanes x chunks the per-addition
                            // kernels ran, whether a lane needed it or came along)
    uint64_t scanned = 0;   // ... scanned for the observed width
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

    // Stage 1 cannot overflow on any input (the layer's exact static bound fits, bias included
    // when stage 1 is the last): its per-chunk register screen is skipped.
    void set_stage1_safe(bool safe) { m_stage1_safe = safe; }

    // Weights packed for this reducer's chunks: build once per layer (or group), share
    // read-only between the tasks of every thread.
    // (q must outlive the result: it is not copied.)
    // byte_inputs: every input this reducer will see is an unsigned or a signed byte (the
    // layer's format says so), which lets 8-bit weights take the quad path (quad_kernels.h).
    PackedWeights pack(const int32_t* q, int64_t cols, int threads = 1,
                       bool byte_inputs = false) const;

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
    // Stage 1's observed partial sums, in 64 bits for the hot loop, with the register range of
    // their width (what a chunk must fit to be skipped).
    struct Seen {
        int64_t lo = 0, hi = 0;
        int64_t width_lo = -1, width_hi = 0;  // a 1-bit register: nothing seen yet
        bool empty = true;
        bool covers(int64_t a, int64_t b) const { return !empty && a >= width_lo && b <= width_hi; }
        void include(int64_t v);
    };

    // Up to k_lanes outputs of one row (consecutive columns), stage 1 sequential, side by side:
    // a chunk's screens are a few branch-free operations per lane, and only a lane whose screen
    // fails leaves the fast path, for that chunk alone. s, a: the first lane's chunk sums and
    // magnitudes, chunk t at t * stride. Writes out from index o0.
    // With packed operands (xp: the row's pairs, wq: the lanes' weight group; else null) a
    // chunk that some lane cannot skip is replayed for all lanes at once (lane_replay.h).
    static constexpr int64_t k_lanes = k_pack_cols;
    struct LaneSource {              // where the per-addition replay reads its products
        const int32_t* x = nullptr;  // the row's pairs or quads
        const int32_t* w = nullptr;  // the lanes' group of pairs or quads
        bool quads = false, x_signed = false;
    };
    void sequential_lanes(const int32_t* x, const int32_t* const* q, const LaneSource& src,
                          const int64_t* s, const int64_t* a, int64_t stride, int64_t lanes,
                          const int64_t* bias, OutputBlock& out, std::size_t o0);
    // One output whose stage 1 is a tree; s, a: its chunk sums and magnitudes, `stride` apart.
    void tree_output(const int32_t* x, const int32_t* q, const int64_t* s, const int64_t* a,
                     int64_t stride, const int64_t* bias, OutputBlock& out, std::size_t o);
    // Stages 2.. of one output, from its n stage-1 tile results (the register's and exact).
    void later_stages(const int64_t* bounded, const int64_t* unbounded, std::size_t n,
                      const int64_t* bias, int64_t& final_value, uint32_t* events);
    // Stage 2 of two, sequential, up to 62 bits, for the lanes of sequential_lanes at once.
    void finish_two_stages(int64_t lanes, const int64_t* bias, OutputBlock& out, std::size_t o0);
    // A chunk's unbounded side for the lanes: scans it where the observed width may not cover
    // it, then adds S to U and dot.
    void observe_chunk(const int32_t* x, const int32_t* const* q, std::size_t t, int64_t lanes,
                       const int64_t* S, const int64_t* A, int64_t* U, int64_t* dot);
    // One chunk, addition by addition, from register value r.
    static int64_t replay_chunk(const int32_t* x, const int32_t* q, int64_t begin, int64_t end,
                                int64_t r, const StageSpec& st, uint32_t& events);

    AccumulatorSpec m_spec;
    int64_t m_k;
    bool m_stage1_safe = false;
    std::vector<Chunk> m_chunks;
    std::size_t m_tiles = 0;  // stage-1 tiles per output
    ChunkLayout m_layout;     // the chunks, for the kernels
    // Per output: stage-1 tile results, bounded (the hardware's) and unbounded (exact).
    std::vector<int64_t> m_bounded, m_unbounded, m_next_bounded, m_next_unbounded;
    std::vector<int64_t> m_stage1_bounded, m_stage1_unbounded;  // a tree output's
    std::vector<int64_t> m_lane_bounded, m_lane_unbounded;      // [tile][lane]
    std::vector<int64_t> m_products, m_tree;
    Seen m_seen;
    std::vector<ValueRange> m_observed;
};

}  // namespace accsim
