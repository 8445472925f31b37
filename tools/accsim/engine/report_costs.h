#pragma once
// The cost parts of report.json: a layer's actions and energy by component, and the FPGA
// design's resources against its device.
#include <nlohmann/json.hpp>

#include "models/energy_breakdown.h"
#include "models/fpga_resources.h"
#include "models/layer_actions.h"

namespace accsim {

nlohmann::ordered_json energy_breakdown_json(const EnergyBreakdown& e);
nlohmann::ordered_json actions_json(const LayerActions& a);
nlohmann::ordered_json fpga_report_json(const FpgaResources& r, const FpgaSpec& f, int x_bits,
                                        int w_bits);

}  // namespace accsim
