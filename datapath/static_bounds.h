#pragma once
// Static (data-independent) bounds of a layer with known weights: for each output channel,
// its L1 norm (A2Q, A2Q+) and the exact worst-case range [S-, S+] of every tile of every
// stage, compared with the configured stage widths to find the channels and tiles at risk.
#include <cstdint>
#include <vector>

#include "accumulator_spec.h"
#include "byte_stream.h"
#include "operand_format.h"
#include "wide_int.h"

namespace accsim {

struct StageStaticBounds {
    int exact_bits = 1;          // widest tile of this stage over all channels
    uint64_t tiles = 0;          // (channel, tile) pairs
    uint64_t tiles_at_risk = 0;  // pairs whose exact range does not fit the stage's register
};

class StaticBounds {
  public:
    StaticBounds(const OperandFormat& x, const OperandFormat& q, int64_t k,
                 const AccumulatorSpec& acc);

    // Adds one output channel's weights, q[0..k) in the order the datapath adds them, and the
    // bias the datapath adds to it (0 for none; ignored when the spec's bias mode is none).
    // The bounds exclude the bias, as datapath/README.md defines them; the risk counts and
    // exact_bits_with_bias include it, because the last stage's register must hold it too.
    void add_channel(const int32_t* q, int64_t bias = 0);
    // Adds the channels another StaticBounds of the same formats, k and spec took (so that
    // channels can be bounded in parallel parts): the same result as adding them here.
    void merge(const StaticBounds& other);
    // The same channels' bounds under `acc`, an accumulator that differs from this one only in
    // its stages' widths and overflow modes: what the risk counts say then, without bounding the
    // weights again (a sweep asks this of many widths). Throws std::logic_error when the tile
    // spans or the bias mode differ.
    StaticBounds with_widths(const AccumulatorSpec& acc) const;

    // What the channels added so far made of it, as bytes (datapath/byte_stream.h), and back:
    // load restores them into a StaticBounds constructed with the same (x, q, k, acc), replacing
    // whatever it held, so that it equals the saved one in every accessor and in with_widths.
    // Throws std::runtime_error, leaving this one unchanged, when the bytes do not fit it (another
    // stage count, tile spans, stage widths, bias mode or formats) or do not parse. (Overflow modes
    // are not checked: they change nothing here.)
    void save(ByteWriter& w) const;
    void load(ByteReader& r);

    int datatype_bits() const { return m_datatype_bits; }
    int a2q_bits() const { return m_a2q_bits; }
    int a2q_plus_bits() const { return m_a2q_plus_bits; }
    int exact_bits() const { return m_stages.back().exact_bits; }
    // The narrowest last-stage width that holds every partial sum and the bias, for any input.
    int exact_bits_with_bias() const { return m_exact_with_bias; }
    const std::vector<StageStaticBounds>& stages() const { return m_stages; }
    uint64_t channels() const { return m_channels; }
    uint64_t channels_at_risk() const { return m_channels_at_risk; }  // any tile of any stage
    // Channels whose weights are not zero-centred enough for A2Q+: its bound is below exact.
    uint64_t channels_a2q_plus_unsound() const { return m_a2q_plus_unsound; }

  private:
    OperandFormat m_x;
    int64_t m_k;
    AccumulatorSpec m_acc;
    std::vector<int64_t> m_spans;  // products per tile, per stage
    int m_datatype_bits;
    int m_a2q_bits = 1;
    int m_a2q_plus_bits = 1;
    std::vector<StageStaticBounds> m_stages;
    uint64_t m_channels = 0;
    uint64_t m_channels_at_risk = 0;
    uint64_t m_a2q_plus_unsound = 0;
    int m_exact_with_bias = 1;
    // For with_widths: per stage, how many tiles need each width (bias included on the last
    // stage); per channel and stage, the widest tile.
    static constexpr int k_widths = 129;
    std::vector<std::vector<uint64_t>> m_tile_need;
    std::vector<uint8_t> m_channel_need;  // [channel * stages + stage]
};

// [S-, S+] of a run of weights: every partial sum, in any order, of q_i * x_i with x_i in
// the format's range lies inside, because x_min <= 0 <= x_max.
struct ExactRange {
    i128 lo = 0;
    i128 hi = 0;
};
ExactRange exact_range(const int32_t* q, int64_t n, const OperandFormat& x);

}  // namespace accsim
