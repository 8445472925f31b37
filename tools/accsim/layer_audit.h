#pragma once
// Audits one layer: lowers it to dot products, replays each through the configured
// accumulator (reference reducer), checks the trace's recorded outputs bit for bit, and
// computes the static bounds of its weights.
#include <optional>

#include "datapath/overflow_stats.h"
#include "datapath/static_bounds.h"
#include "hw_config.h"
#include "traces/trace.h"

namespace accsim {

struct LayerAudit {
    const LayerSpec* layer = nullptr;
    OverflowStats overflow;
    int datatype_bits = 0;
    std::optional<StaticBounds> bounds;  // layers with static weights
    bool output_verified = false;        // the trace's output matched the exact replay
    bool statically_at_risk = false;     // some input in the declared formats could overflow
};

// `manifest_path` names the file in a mismatch error.
LayerAudit audit_layer(const LayerSpec& layer, const HwConfig& config,
                       const std::string& manifest_path);

}  // namespace accsim
