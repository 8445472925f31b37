#include "layer_actions.h"

namespace accsim {

namespace {

int64_t ceil_div(int64_t a, int64_t b) {
    return (a + b - 1) / b;
}

}  // namespace

LayerActions count_actions(const LayerWork& w, const AccumulatorSpec& acc, bool has_bias,
                           const LayerTiming& t, std::optional<ZeroProducts> zero_products) {
    LayerActions a;
    a.macs = w.macs();
    a.zero_products = zero_products;
    a.x_bits = w.x_bits;
    a.w_bits = w.w_bits;
    const double outputs = static_cast<double>(w.outputs());
    int64_t inputs = w.k;  // per output
    for (std::size_t j = 0; j < acc.stages.size(); ++j) {
        const StageSpec& s = acc.stages[j];
        const bool last = j + 1 == acc.stages.size();
        const int64_t tiles = last ? 1 : ceil_div(w.k, acc.span(j, w.k));
        // A sequential register adds every input; a tree of n leaves has n - 1 adders per tile.
        int64_t adds = s.reduction == Reduction::tree ? inputs - tiles : inputs;
        if (last && has_bias && acc.bias != BiasMode::none) ++adds;
        StageActions st;
        st.bits = s.bits;
        st.inputs = outputs * static_cast<double>(inputs);
        st.additions = outputs * static_cast<double>(adds);
        st.passed_on = last ? 0 : outputs * static_cast<double>(tiles);
        st.in_buffer = j == 1;
        a.stages.push_back(st);
        inputs = tiles;
    }
    const TrafficCounters& b = t.traffic;
    a.ifmap_reads = b.sram_ifmap;
    a.ifmap_writes = b.dram_ifmap;
    a.filter_reads = b.sram_filter;
    a.filter_writes = b.dram_filter;
    a.ofmap_writes = b.sram_ofmap + b.dram_ofmap_refill;
    a.ofmap_reads = b.sram_ofmap_reads + (b.dram_ofmap - b.dram_ofmap_refill);
    a.dram_bytes = b.dram();
    a.cycles = t.total;
    a.pe_count = t.pe_count;
    return a;
}

}  // namespace accsim
