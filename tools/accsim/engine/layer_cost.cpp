#include "engine/layer_cost.h"

#include <algorithm>

#include "models/energy_model.h"
#include "models/fpga_energy.h"

namespace accsim {

RunCosts price_run(const HwConfig& config, const std::vector<PricedLayer>& layers) {
    RunCosts out;
    for (const PricedLayer& l : layers) {
        out.x_bits = std::max(out.x_bits, l.work.x_bits);
        out.w_bits = std::max(out.w_bits, l.work.w_bits);
    }
    if (config.fpga && config.array && config.memory && !layers.empty())
        out.fpga = estimate_fpga(*config.array, *config.memory, config.accumulator, *config.fpga,
                                 out.x_bits, out.w_bits);
    for (const PricedLayer& l : layers) {
        LayerCost c;
        c.actions =
            count_actions(l.work, config.accumulator, l.has_bias, l.timing, l.zero_products);
        if (config.energy && config.clock_mhz && config.memory) {
            const double mhz = *config.clock_mhz;
            if (config.energy->datapath)
                c.energy = asic_energy(c.actions, *config.energy, *config.memory, mhz);
            else if (out.fpga)
                c.energy = fpga_energy(c.actions, *out.fpga, *config.fpga, *config.memory,
                                       config.energy->dram_pj_per_bit, mhz);
            if (c.energy) c.power_mw = power_of_energy(c.energy->total(), l.timing.total, mhz);
        }
        out.layers.push_back(std::move(c));
    }
    return out;
}

}  // namespace accsim
