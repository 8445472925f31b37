#pragma once
// `accsim run` on a trace: every layer through the SystemC accelerator (timing, and the values
// replayed in the hardware's order through the configured stages), plus the static bounds.
#include <string>
#include <vector>

#include "hw_config.h"
#include "layer_audit.h"
#include "models/accelerator.h"
#include "models/operand_activity.h"

namespace accsim {

struct LayerRun {
    LayerAudit audit;
    LayerTiming timing;
    LayerWork work;
    ZeroProducts zero_products;  // products with a zero operand (what zero gating skips)
};

// SCALE-Sim counts words of one byte, whatever the operands' widths: `native` otherwise.
ElementBytes bytes_for(const HwConfig& config, ElementBytes native);

// Refuses layers a run cannot hold (too many folds; cycle mode beyond its size), naming `file`
// (the trace's manifest or the topology).
void check_size(const LayerWork& w, const HwConfig& config, const SimOptions& options,
                const std::string& file);

// Run options from the config (timing conventions) and the command line (mode, waveform).
SimOptions sim_options(const HwConfig& config, SimMode mode, const std::string& vcd);

std::vector<LayerRun> run_layers(const std::vector<const LayerSpec*>& layers,
                                 const HwConfig& config, const SimOptions& options,
                                 const std::string& manifest_path);

// A timing-only run of layers without values (SCALE-Sim topologies): 8-bit operands, 32-bit
// outputs (one-byte words under SCALE-Sim's conventions).
// `source_path` names the topology in errors.
std::vector<LayerTiming> run_timing(const std::vector<LayerWork>& layers, const HwConfig& config,
                                    const SimOptions& options, const std::string& source_path);

}  // namespace accsim
