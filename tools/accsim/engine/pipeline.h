#pragma once
// The one pipeline from what was computed for each layer to report.json. `accsim audit`,
// `accsim run` (on a trace or a SCALE-Sim topology), every sweep point, the benchmark and the
// Python module all end here, so a report means the same whichever of them wrote it:
//
//   layers (values replayed: LayerAudit; timed: LayerTiming)
//     -> prices (when timed: actions x the config's energy table or FPGA resources)
//     -> report rows -> build_report -> report.json
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/hw_config.h"
#include "engine/layer_audit.h"
#include "models/layer_timing.h"
#include "models/layer_work.h"
#include "models/operand_activity.h"

namespace accsim {

// One layer's results. A trace layer has its audit; a SCALE-Sim topology layer only timing.
struct LayerOutcome {
    LayerWork work;  // the layer as GEMMs (for pricing)
    std::string op;  // for a layer without an audit (topology rows)
    bool has_bias = false;
    const LayerAudit* audit = nullptr;          // null: timing only
    const LayerTiming* timing = nullptr;        // null: an audit (no timing, no costs)
    std::optional<ZeroProducts> zero_products;  // for zero gating; none without values
};

// The outcome of an audited trace layer (with its timing, if it ran).
LayerOutcome layer_outcome(const LayerAudit& audit, const LayerWork& work,
                           const LayerTiming* timing = nullptr,
                           std::optional<ZeroProducts> zero_products = std::nullopt);

// `command`: "audit" or "run"; `source`: the report's "trace" section. Layers that were timed
// are priced. Every layer must be timed, or none.
nlohmann::ordered_json make_report(const std::string& command, nlohmann::ordered_json source,
                                   const HwConfig& config, const std::vector<LayerOutcome>& layers);

}  // namespace accsim
