#pragma once
// The SystemC run: every layer through the accelerator of models/accelerator.h (timing, and the
// values replayed in the hardware's order through the configured stages), plus the static
// bounds. This folder is the only part of the library that runs SystemC, and SystemC elaborates
// once per process: a process calls run_layers or run_timing once (sweeps and repeated runs use
// the plain-C++ replay, models/timing_replay.h, tested equal to it).
#include <string>
#include <vector>

#include "config/hw_config.h"
#include "engine/layer_audit.h"
#include "engine/run_setup.h"
#include "models/operand_activity.h"

namespace accsim {

struct LayerRun {
    LayerAudit audit;
    LayerTiming timing;
    LayerWork work;
    ZeroProducts zero_products;  // products with a zero operand (what zero gating skips)
};

std::vector<LayerRun> run_layers(const std::vector<const LayerSpec*>& layers,
                                 const HwConfig& config, const SimOptions& options,
                                 const std::string& manifest_path, bool keep_outputs = false);

// A timing-only run of layers without values (SCALE-Sim topologies): 8-bit operands, 32-bit
// outputs (one-byte words under SCALE-Sim's conventions).
// `source_path` names the topology in errors.
std::vector<LayerTiming> run_timing(const std::vector<LayerWork>& layers, const HwConfig& config,
                                    const SimOptions& options, const std::string& source_path);

// Whether this process has run SystemC already (a second elaboration is impossible).
bool systemc_used();

}  // namespace accsim
