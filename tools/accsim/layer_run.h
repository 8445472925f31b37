#pragma once
// `accsim run` on a trace: every layer through the SystemC accelerator (timing, and the values
// replayed in the hardware's order through the configured stages), plus the static bounds.
#include <string>
#include <vector>

#include "hw_config.h"
#include "layer_audit.h"
#include "models/accelerator.h"

namespace accsim {

// Cycle mode clocks every PE: beyond this many MACs a layer would take minutes.
inline constexpr int64_t k_max_cycle_macs = 50'000'000;

struct LayerRun {
    LayerAudit audit;
    LayerTiming timing;
};

std::vector<LayerRun> run_layers(const std::vector<const LayerSpec*>& layers, const HwConfig& config,
                                 const SimOptions& options, const std::string& manifest_path);

}  // namespace accsim
