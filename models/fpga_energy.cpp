#include "fpga_energy.h"

#include <cmath>

#include "models/power_units.h"

namespace accsim {

namespace {

// pJ per busy cycle of a piece of logic.
double logic_pj(const FpgaCount& c, const FpgaPower& p) {
    return (c.lut * p.lut_uw_per_mhz + c.ff * p.ff_uw_per_mhz + c.dsp * p.dsp_uw_per_mhz) *
           p.toggle_rate;
}

// pJ for moving `bytes` through a buffer whose port is `bandwidth` bytes wide.
double buffer_pj(const FpgaCount& c, const FpgaPower& p, double bytes, double bandwidth) {
    const double cycles = bytes / std::ceil(bandwidth);
    return cycles * (c.bram18 * p.bram18_uw_per_mhz + c.uram * p.uram_uw_per_mhz +
                     c.lut * p.lut_uw_per_mhz * p.toggle_rate);
}

}  // namespace

EnergyBreakdown fpga_energy(const LayerActions& a, const FpgaResources& r, const FpgaSpec& f,
                            const MemorySpec& m, double dram_pj_per_bit, double clock_mhz) {
    const FpgaPower& p = f.power;
    const double busy = a.pe_count > 0 ? static_cast<double>(a.macs) / a.pe_count : 0;
    EnergyBreakdown e;
    e.multiply = logic_pj(r.multiply, p) * busy;
    for (const FpgaCount& s : r.stages) e.stages.push_back(logic_pj(s, p) * busy);
    if (f.thresholds) e.thresholds = logic_pj(r.thresholds, p) * busy;
    e.control = logic_pj(r.control, p) * busy;
    e.sram_ifmap = buffer_pj(r.ifmap, p, a.ifmap_reads + a.ifmap_writes, m.ifmap.bandwidth);
    e.sram_filter = buffer_pj(r.filter, p, a.filter_reads + a.filter_writes, m.filter.bandwidth);
    e.sram_ofmap = buffer_pj(r.ofmap, p, a.ofmap_reads + a.ofmap_writes, m.ofmap.bandwidth);
    e.dram = a.dram_bytes * 8 * dram_pj_per_bit;
    e.leakage = energy_of_power(f.device.static_mw, a.cycles, clock_mhz);
    return e;
}

}  // namespace accsim
