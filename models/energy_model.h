#pragma once
// ASIC and GPU energy: a layer's actions times the per-action table of the config
// (Timeloop/Accelergy style), computed at report time, outside the modules.
//   multiply   (macs - z) e_mul(a, b) + z g_mul e_mul(a, b)      z: products with a zero operand
//   stage j    adds_j (e_add(bits_j) + bits_j e_reg), stage 1's gated share of z at g_add
//   transfers  sum_j passed_on_j bits_j e_reg
//   sram       (reads + write_factor writes) e_sram(size) per buffer
//   dram       bytes x 8 x e_dram_bit
//   leakage    static_mw x cycles / clock_mhz (mW x us = nJ)
#include "models/energy_breakdown.h"
#include "models/energy_spec.h"
#include "models/layer_actions.h"
#include "models/memory_spec.h"

namespace accsim {

EnergyBreakdown asic_energy(const LayerActions& actions, const EnergySpec& energy,
                            const MemorySpec& memory, double clock_mhz);

// pJ spent over `cycles` at `mw` milliwatts.
inline double energy_of_power(double mw, int64_t cycles, double clock_mhz) {
    return mw * static_cast<double>(cycles) / clock_mhz * 1000.0;
}
// Average power in mW of `pj` over `cycles`.
inline double power_of_energy(double pj, int64_t cycles, double clock_mhz) {
    return cycles > 0 ? pj / (static_cast<double>(cycles) / clock_mhz) / 1000.0 : 0.0;
}

}  // namespace accsim
