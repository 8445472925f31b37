#pragma once
// The transaction-level timing of a sequence of layers in plain C++: the fold schedule and the
// memory model that the SystemC controller drives (models/accelerator.cpp), summed the way its
// waits add up. It equals simulate(..., SimMode::tlm) cycle for cycle and byte for byte (tested
// on real traces in tests/models); a sweep uses it to time thousands of configurations on every
// core, where SystemC allows one simulation per process.
#include <vector>

#include "datapath/accumulator_spec.h"
#include "models/array_spec.h"
#include "models/fold_schedule.h"
#include "models/layer_timing.h"
#include "models/layer_work.h"
#include "models/memory_model.h"
#include "models/memory_spec.h"

namespace accsim {

// A layer's timing before its folds run (counts from the schedule), and after them: `elapsed`
// cycles from the first fetch to the write-back, before the schedule's extra cycles (a
// pipeline's depth, or SCALE-Sim's one cycle short). The SystemC controller and the replay
// below both account a layer with these.
LayerTiming begin_layer_timing(const ArraySpec& array, const LayerWork& work,
                               const FoldSchedule& schedule);
void end_layer_timing(LayerTiming& t, const FoldSchedule& schedule, int64_t elapsed);

struct TimedLayer {
    LayerWork work;
    ElementBytes bytes;
};

std::vector<LayerTiming> replay_timing(const ArraySpec& array, const MemorySpec& memory,
                                       const AccumulatorSpec& acc,
                                       const std::vector<TimedLayer>& layers,
                                       TimingConvention convention, bool dram_stalls,
                                       bool sram_limits);

}  // namespace accsim
