#pragma once
// FPGA energy: dynamic power from the resources each component uses, the clock and its
// activity, plus the device's static power and DRAM (XPE's model in miniature).
//   logic (multiply, stages, thresholds, control): (LUT e_lut + FF e_ff + DSP e_dsp) x toggle
//         x busy cycles, busy cycles = macs / (MACs the array does per cycle): idle PEs and
//         stalls do not switch
//   buffer (ifmap, filter, ofmap): (BRAM18 e_bram + URAM e_uram + LUTRAM LUTs e_lut x toggle)
//         x enabled cycles, enabled cycles = bytes read and written / port width
//   dram  bytes x 8 x e_dram_bit;  leakage  device static_mw x time
// e_* are uW/MHz, i.e. pJ per cycle at full activity.
#include "models/energy_breakdown.h"
#include "models/fpga_resources.h"
#include "models/layer_actions.h"

namespace accsim {

EnergyBreakdown fpga_energy(const LayerActions& actions, const FpgaResources& resources,
                            const FpgaSpec& fpga, const MemorySpec& memory, double dram_pj_per_bit,
                            double clock_mhz);

}  // namespace accsim
