#pragma once
// Prices a run at report time: each layer's actions (models/layer_actions.h) times the config's
// energy table (ASIC, GPU) or its FPGA resources' power, and the FPGA resources of the design.
#include <optional>
#include <vector>

#include "config/hw_config.h"
#include "models/energy_breakdown.h"
#include "models/fpga_resources.h"
#include "models/layer_actions.h"
#include "models/layer_timing.h"
#include "models/layer_work.h"

namespace accsim {

struct LayerCost {
    LayerActions actions;
    std::optional<EnergyBreakdown> energy;  // none without an energy table
    std::optional<double> power_mw;
};

// What the pricing needs of a layer that ran.
struct PricedLayer {
    LayerWork work;
    bool has_bias = false;
    std::optional<ZeroProducts> zero_products;  // none in a timing-only run
    LayerTiming timing;
};

struct RunCosts {
    std::vector<LayerCost> layers;
    // FPGA targets: the design, built for the widest operands of the layers it ran.
    std::optional<FpgaResources> fpga;
    int x_bits = 0, w_bits = 0;
};

RunCosts price_run(const HwConfig& config, const std::vector<PricedLayer>& layers);

}  // namespace accsim
