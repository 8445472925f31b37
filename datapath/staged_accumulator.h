#pragma once
// One dot product's accumulation fed one input at a time, in the order the hardware produces
// them: stage `first` takes each input (a product when first == 0, else a tile result of stage
// first-1 computed elsewhere, e.g. by a PE column), and every stage from `first` on behaves as
// datapath/README.md says. The SystemC models keep one per output they are accumulating. Its
// results must equal the reference reducer's (tests/unit/test_staged_accumulator.cpp).
#include <cstdint>
#include <optional>
#include <vector>

#include "accumulator_spec.h"
#include "dot_outcome.h"

namespace accsim {

class StagedAccumulator {
  public:
    // `k`: the dot length, which fixes where the last tiles end.
    StagedAccumulator(const AccumulatorSpec& spec, std::size_t first_stage, int64_t k);

    // Starts a dot product; `bias` is added as the spec's bias mode says.
    void begin(std::optional<int64_t> bias);
    // The next input to stage `first`: its value in the hardware (`value`, already fitted by the
    // stage before) and its exact value (for the unbounded partial-sum ranges).
    void push(int64_t value, i128 exact);
    // After the last input: the final value, events and observed ranges of stages >= first
    // (the entries of earlier stages are left untouched), and exact sums.
    void finish(DotOutcome& out);

    // Inputs stage `first` takes in all: k products, or ceil(k / span) tile results.
    int64_t inputs_expected() const { return m_inputs_expected; }

  private:
    struct Level {
        int64_t value = 0;          // sequential: the register
        i128 exact = 0;             // its unbounded twin
        std::vector<int64_t> tree;  // tree: the tile's inputs, loaded (fitted)
        std::vector<i128> tree_exact;
        int64_t count = 0;  // inputs taken in the current tile
        int64_t tile = 0;   // inputs in a full tile (last stage: all)
        uint64_t events = 0;
        ValueRange observed;
    };

    void feed(std::size_t j, int64_t value, i128 exact);
    void close_tile(std::size_t j);
    bool last(std::size_t j) const { return j + 1 == m_spec.stages.size(); }

    AccumulatorSpec m_spec;
    std::size_t m_first;
    int64_t m_k;
    int64_t m_inputs_expected = 0;
    std::vector<Level> m_levels;  // index = stage
    std::vector<int64_t>
        m_remaining;  // inputs still to come per stage (the last tile may be short)
    std::optional<int64_t> m_bias;
    int64_t m_final = 0;
    i128 m_exact_dot = 0;
};

}  // namespace accsim
