#pragma once
// The SystemC accelerator: a controller that tiles each layer onto the array fold by fold, a
// memory system (buffers + DRAM) that charges stalls, the MAC array, and the accumulator whose
// stages come from the config. simulate() elaborates it once for a whole run (SystemC allows
// one elaboration per process) and returns the timing of every layer; with operand values it
// also replays every output through the configured stages.
#include <cstdint>
#include <string>
#include <vector>

#include "datapath/accumulator_spec.h"
#include "models/array_spec.h"
#include "models/fold_schedule.h"
#include "models/layer_timing.h"
#include "models/layer_work.h"
#include "models/memory_model.h"
#include "models/memory_spec.h"
#include "models/value_interfaces.h"

namespace accsim {

struct LayerJob {
    LayerWork work;
    ElementBytes bytes;
    const OperandSource* values = nullptr;  // null: a timing-only run
    OutputSink* sink = nullptr;
    bool stage1_safe = false;  // proven for every input: the replay may skip stage 1's screen
};

enum class SimMode { tlm, cycle };

struct SimOptions {
    SimMode mode = SimMode::tlm;
    TimingConvention convention = TimingConvention::native;
    bool dram_stalls = true;
    bool sram_limits = true;
    std::string vcd_path;  // cycle mode: a waveform of the run
    int threads = 1;       // transaction-level mode: threads of the value replay
};

std::vector<LayerTiming> simulate(const ArraySpec& array, const MemorySpec& memory,
                                  const AccumulatorSpec& acc, const std::vector<LayerJob>& jobs,
                                  const SimOptions& options);

}  // namespace accsim
