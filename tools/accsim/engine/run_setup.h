#pragma once
// What a run needs settled before anything is simulated: the simulation options a config
// implies, the bytes an element takes under its timing convention, and the limits on what a
// run can hold. Shared by the SystemC run (sim/), the plain timing replay and sweeps.
#include <string>

#include "config/hw_config.h"
#include "models/accelerator.h"
#include "models/layer_work.h"
#include "models/memory_model.h"

namespace accsim {

// SCALE-Sim counts words of one byte, whatever the operands' widths: `native` otherwise.
ElementBytes bytes_for(const HwConfig& config, ElementBytes native);

// Refuses layers a run cannot hold (too many folds; cycle mode beyond its size), naming `file`
// (the trace's manifest or the topology).
void check_size(const LayerWork& w, const HwConfig& config, const SimOptions& options,
                const std::string& file);

// Run options from the config (timing conventions) and the caller (mode, waveform).
SimOptions sim_options(const HwConfig& config, SimMode mode, const std::string& vcd);

// Refuses a config without the hardware a run needs (an array and a memory section).
void require_hardware(const HwConfig& config);

}  // namespace accsim
