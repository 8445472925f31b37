#pragma once
// ASIC and GPU energy: a layer's actions times the per-action table of the config
// (Timeloop/Accelergy style), computed at report time, outside the modules.
//   multiply   (macs - z) e_mul(a, b) + z g_mul e_mul(a, b)      z: products with a zero operand
//   stage j    adds_j (e_add(bits_j) + bits_j e_reg), stage 1's gated share of z at g_add;
//              stage 2 lives in the ofmap buffer: no e_reg (its words are priced as SRAM)
//   transfers  sum_j passed_on_j bits_j e_reg, except into stage 2 (that is a buffer write)
//   sram       (reads + write_factor writes) e_sram(size) per buffer
//   dram       bytes x 8 x e_dram_bit
//   leakage    static_mw x cycles / clock_mhz (mW x us = nJ)
#include "models/energy_breakdown.h"
#include "models/energy_spec.h"
#include "models/layer_actions.h"
#include "models/memory_spec.h"
#include "models/power_units.h"

namespace accsim {

EnergyBreakdown asic_energy(const LayerActions& actions, const EnergySpec& energy,
                            const MemorySpec& memory, double clock_mhz);

}  // namespace accsim
