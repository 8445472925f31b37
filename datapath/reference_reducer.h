#pragma once
// The scalar reference: replays a dot product through the configured stages one addition
// at a time, exactly as datapath/README.md defines it. It is deliberately plain; it stays
// for good as the oracle every faster kernel is tested against.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "accumulator_spec.h"
#include "dot_outcome.h"

namespace accsim {

class ReferenceReducer {
  public:
    explicit ReferenceReducer(AccumulatorSpec spec);

    const AccumulatorSpec& spec() const { return m_spec; }

    // Replays products[0..k) (k >= 1) in order. `bias`, if given, is added as the spec's
    // bias mode says. `out` is overwritten; reusing one DotOutcome avoids allocations.
    void reduce(const int64_t* products, std::size_t k, std::optional<int64_t> bias,
                DotOutcome& out);

  private:
    // One tile of stage `stage` in the bounded (hardware) replay.
    int64_t tile_bounded(const int64_t* in, std::size_t n, const StageSpec& s,
                         const int64_t* bias_first, const int64_t* bias_last, uint64_t& events);
    // One tile of stage `stage` in the unbounded replay, recording every partial sum.
    i128 tile_unbounded(const i128* in, std::size_t n, const StageSpec& s, ValueRange& range);

    AccumulatorSpec m_spec;
    std::vector<int64_t> m_bounded[2];  // stage inputs/outputs, ping-pong
    std::vector<i128> m_unbounded[2];
    std::vector<int64_t> m_tree;
    std::vector<i128> m_tree_wide;
};

}  // namespace accsim
