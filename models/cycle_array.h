#pragma once
// Cycle-accurate arrays: one fold, one clock at a time, every PE updated each cycle. Data move
// as tokens through the grid exactly as the fold schedule describes (skewed over rows and
// columns, full rows and columns even where a fold maps nothing, as the hardware streams whole
// vectors), and the PEs do the stage-1 arithmetic themselves. A fold ends when its last token
// leaves the array; the transaction-level model's cycle counts must equal these.
#include <cstdint>
#include <memory>
#include <vector>

#include "datapath/accumulator_spec.h"
#include "models/array_spec.h"
#include "models/cycle_bank.h"
#include "models/fold_schedule.h"
#include "models/layer_work.h"
#include "models/value_interfaces.h"

namespace accsim {

// What a waveform shows of the array each cycle.
struct CycleProbe {
    uint64_t row_valid = 0;  // bit i: row i received a valid operand this cycle
    int64_t pe00 = 0;        // PE (0, 0)'s partial sum (its accumulator in os)
    bool overflow = false;   // some PE's addition overflowed this cycle
};

class FoldSim {
  public:
    virtual ~FoldSim() = default;
    virtual void step() = 0;  // one clock
    virtual bool done() const = 0;
    virtual const CycleProbe& probe() const = 0;
};

// `values` and `bank` may be null (timing only). The array's kind picks its model
// (ArrayKindModel::fold_sim); a kind without one is refused before a run starts.
std::unique_ptr<FoldSim> make_fold_sim(const ArraySpec& array, const AccumulatorSpec& acc,
                                       TimingConvention convention, const LayerWork& work,
                                       const Fold& fold, const OperandSource* values,
                                       CycleBank* bank);

// The cycle models the kinds use: partial sums running down the columns of a ws/is systolic
// array; outputs kept in the PEs of an os one; a vector unit's PEs with SIMD adder trees.
std::unique_ptr<FoldSim> make_column_fold(const ArraySpec& a, const AccumulatorSpec& acc,
                                          const LayerWork& w, const Fold& f,
                                          const OperandSource* values, CycleBank* bank);
std::unique_ptr<FoldSim> make_output_stationary_fold(const ArraySpec& a, const AccumulatorSpec& acc,
                                                     TimingConvention convention,
                                                     const LayerWork& w, const Fold& f,
                                                     const OperandSource* values, CycleBank* bank);
std::unique_ptr<FoldSim> make_vector_fold(const ArraySpec& a, const AccumulatorSpec& acc,
                                          const LayerWork& w, const Fold& f,
                                          const OperandSource* values, CycleBank* bank);

}  // namespace accsim
