#pragma once
// The cycle-accurate models' accumulator side: what each output holds between the partial
// sums the array delivers. Stage 1 runs inside the array (a PE column's chain, an os PE's
// register, a vector PE's adder tree); the bank holds stages 2.. (datapath's StagedAccumulator)
// or, for a single stage chained through the array, the register itself between folds.
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "datapath/accumulator_spec.h"
#include "datapath/staged_accumulator.h"
#include "models/value_interfaces.h"

namespace accsim {

// A stage-1 register in flight: its value, its exact twin, and what happened to it.
struct PartialSum {
    int64_t value = 0;
    i128 exact = 0;
    uint64_t events = 0;
    ValueRange observed;

    // One addition in a sequential stage-1 register.
    void add(int64_t product, const StageSpec& s) {
        const Fitted f = fit(i128{value} + product, s.bits, s.overflow);
        value = f.value;
        events += f.event;
        exact += product;
        observed.include(exact);
    }
};

class CycleBank {
  public:
    CycleBank(const AccumulatorSpec& spec, int64_t k, OutputSink* sink);

    // What a chain starting on output (g, m, n) holds: the stored register for a single stage
    // (opened from the bias, if it comes first), else an empty stage-1 tile.
    PartialSum start(int64_t g, int64_t m, int64_t n, std::optional<int64_t> bias);
    // A stage-1 result arriving from the array: a finished tile (several stages), or the chain
    // register to keep (one stage).
    void deliver(int64_t g, int64_t m, int64_t n, const PartialSum& ps,
                 std::optional<int64_t> bias);
    // The output's last delivery has arrived: finish it and hand it to the sink.
    void close(int64_t g, int64_t m, int64_t n);

    bool single_stage() const { return m_spec.stages.size() == 1; }
    const StageSpec& first_stage() const { return m_spec.stages.front(); }

  private:
    struct Entry {
        std::optional<StagedAccumulator> later;  // stages 2..
        PartialSum chain;                        // one stage: the register between folds
        uint64_t stage1_events = 0;
        ValueRange stage1_observed;
        std::optional<int64_t> bias;
    };
    Entry& open(int64_t g, int64_t m, int64_t n, std::optional<int64_t> bias);
    static uint64_t key(int64_t g, int64_t m, int64_t n) {
        return (static_cast<uint64_t>(g) << 42) ^ (static_cast<uint64_t>(m) << 21) ^
               static_cast<uint64_t>(n);
    }

    AccumulatorSpec m_spec;
    int64_t m_k;
    OutputSink* m_sink;
    std::unordered_map<uint64_t, Entry> m_entries;
    DotOutcome m_outcome;
};

}  // namespace accsim
