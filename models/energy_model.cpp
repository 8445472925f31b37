#include "energy_model.h"

namespace accsim {

EnergyBreakdown asic_energy(const LayerActions& a, const EnergySpec& e, const MemorySpec& m,
                            double clock_mhz) {
    EnergyBreakdown out;
    const double macs = static_cast<double>(a.macs);
    // The products the gating looks at (none known in a timing-only run: all priced in full).
    double zeros = 0;
    if (a.zero_products) {
        const ZeroProducts& z = *a.zero_products;
        const GatedOperand g = e.zero_gating.operand;
        zeros = static_cast<double>(g == GatedOperand::either  ? z.either
                                    : g == GatedOperand::input ? z.input
                                                               : z.weight);
    }
    const double mul = e.multiply.at(a.x_bits, a.w_bits);
    out.multiply = (macs - zeros) * mul + zeros * e.zero_gating.multiply * mul;
    for (std::size_t j = 0; j < a.stages.size(); ++j) {
        const StageActions& s = a.stages[j];
        const double reg = s.in_buffer ? 0 : s.bits * e.register_pj_per_bit;
        const double per_add = e.add.at(s.bits) + reg;
        double adds = s.additions;
        double stage = 0;
        if (j == 0 && s.inputs > 0) {
            // A gated zero product skips its share of stage 1's additions.
            const double gated = zeros * (s.additions / s.inputs);
            stage += gated * e.zero_gating.add * per_add;
            adds -= gated;
        }
        out.stages.push_back(stage + adds * per_add);
        const bool into_buffer = j + 1 < a.stages.size() && a.stages[j + 1].in_buffer;
        if (!into_buffer) out.transfers += s.passed_on * s.bits * e.register_pj_per_bit;
    }
    const double w = e.sram.write_factor;
    out.sram_ifmap = (a.ifmap_reads + w * a.ifmap_writes) * e.sram.pj_per_byte(m.ifmap.size_kb);
    out.sram_filter = (a.filter_reads + w * a.filter_writes) * e.sram.pj_per_byte(m.filter.size_kb);
    out.sram_ofmap = (a.ofmap_reads + w * a.ofmap_writes) * e.sram.pj_per_byte(m.ofmap.size_kb);
    out.dram = a.dram_bytes * 8 * e.dram_pj_per_bit;
    out.leakage = energy_of_power(e.static_mw, a.cycles, clock_mhz);
    return out;
}

}  // namespace accsim
