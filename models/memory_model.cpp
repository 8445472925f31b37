#include "memory_model.h"

#include <algorithm>
#include <cmath>

namespace accsim {

namespace {

// Cycles to move `bytes` at `bandwidth` bytes per cycle, saturating far below int64's limit (the
// config loader keeps bandwidths large enough that real layers never get near it).
int64_t cycles_for(double bytes, double bandwidth) {
    constexpr double k_most = 4.0e18;
    const double c = std::ceil(bytes / bandwidth);
    return !(c < k_most) ? static_cast<int64_t>(k_most) : static_cast<int64_t>(c);
}

}  // namespace

void TrafficCounters::add(const TrafficCounters& o) {
    dram_ifmap += o.dram_ifmap;
    dram_filter += o.dram_filter;
    dram_ofmap += o.dram_ofmap;
    dram_ofmap_refill += o.dram_ofmap_refill;
    sram_ofmap_reads += o.sram_ofmap_reads;
    sram_ifmap += o.sram_ifmap;
    sram_filter += o.sram_filter;
    sram_ofmap += o.sram_ofmap;
    dram_stall += o.dram_stall;
    sram_stall += o.sram_stall;
}

MemoryModel::MemoryModel(const MemorySpec& spec, bool dram_stalls, bool sram_limits)
    : m_spec(spec), m_dram_stalls(dram_stalls), m_sram_limits(sram_limits) {}

void MemoryModel::begin_layer(const LayerWork& work, const ElementBytes& bytes) {
    m_bytes = bytes;
    m_ifmap_total = static_cast<double>(work.ifmap_elements) * bytes.ifmap;
    m_filter_total = static_cast<double>(work.filter_elements) * bytes.filter;
    m_ifmap_resident = m_ifmap_total <= m_spec.ifmap.tile_capacity();
    m_filter_resident = m_filter_total <= m_spec.filter.tile_capacity();
    m_ifmap_loaded = m_filter_loaded = false;
    m_last_ifmap_tile = m_last_filter_tile = -1;
    m_pending_writeback = 0;
    m_pending_refill = 0;
    m_outputs = work.outputs();
    m_psum_writes = 0;
}

int64_t MemoryModel::transfer_cycles(double bytes) const {
    if (bytes <= 0) return 0;
    return m_spec.dram.latency_cycles + cycles_for(bytes, m_spec.dram.bandwidth);
}

FoldCost MemoryModel::fold(const Fold& f, int64_t previous_compute) {
    FoldCost c;
    TrafficCounters& t = c.traffic;
    // DRAM reads for this fold.
    auto load = [&](bool resident, bool& loaded, int64_t& last_tile, int64_t tile, double total,
                    double fraction) {
        if (resident) {
            if (loaded) return 0.0;
            loaded = true;
            return total;
        }
        if (tile == last_tile) return 0.0;
        last_tile = tile;
        return total * fraction;
    };
    t.dram_ifmap = load(m_ifmap_resident, m_ifmap_loaded, m_last_ifmap_tile, f.ifmap_tile,
                        m_ifmap_total, f.ifmap_fraction);
    t.dram_filter = load(m_filter_resident, m_filter_loaded, m_last_filter_tile, f.filter_tile,
                         m_filter_total, f.filter_fraction);
    // The previous fold's finished outputs (and spilled partial sums) go out while this one runs.
    t.dram_ofmap = m_pending_writeback + m_pending_refill;
    t.dram_ofmap_refill = m_pending_refill;
    m_psum_writes += f.psum_writes;
    m_pending_writeback = static_cast<double>(f.outputs_done) * m_bytes.output;
    m_pending_refill = 0;
    // Partial sums of an unfinished output tile (ws, is: a K fold before the last) wait in the
    // ofmap buffer for the next K fold; when they do not fit they go to DRAM and come back.
    if (f.outputs_done == 0 && f.psum_writes > 0) {
        const double psums = static_cast<double>(f.psum_writes) * m_bytes.psum;
        if (psums > m_spec.ofmap.tile_capacity()) {
            m_pending_writeback += psums;
            m_pending_refill = psums;
        }
    }

    if (m_dram_stalls) {
        double overlapped = 0, exposed = 0;
        (m_spec.ifmap.double_buffered ? overlapped : exposed) += t.dram_ifmap;
        (m_spec.filter.double_buffered ? overlapped : exposed) += t.dram_filter;
        (m_spec.ofmap.double_buffered ? overlapped : exposed) += t.dram_ofmap;
        const int64_t hidden = std::max<int64_t>(0, transfer_cycles(overlapped) - previous_compute);
        t.dram_stall = transfer_cycles(exposed) + hidden;
    }
    // On-chip reads and writes, and what a slow buffer adds to the fold.
    t.sram_ifmap = static_cast<double>(f.ifmap_reads) * m_bytes.ifmap;
    t.sram_filter = static_cast<double>(f.filter_reads) * m_bytes.filter;
    t.sram_ofmap = static_cast<double>(f.psum_writes) * m_bytes.psum;
    if (m_sram_limits) {
        auto extra = [](double bytes, double bandwidth, int64_t cycles) {
            if (bytes <= 0) return int64_t{0};
            return std::max<int64_t>(0, cycles_for(bytes, bandwidth) - cycles);
        };
        const int64_t ifmap_phase = f.ifmap_stationary ? f.preload_cycles : f.stream_cycles;
        const int64_t filter_phase = f.filter_stationary ? f.preload_cycles : f.stream_cycles;
        t.sram_stall = std::max({extra(t.sram_ifmap, m_spec.ifmap.bandwidth, ifmap_phase),
                                 extra(t.sram_filter, m_spec.filter.bandwidth, filter_phase),
                                 extra(t.sram_ofmap, m_spec.ofmap.bandwidth, f.stream_cycles)});
    }
    c.stall = t.dram_stall + t.sram_stall;
    return c;
}

FoldCost MemoryModel::end_layer() {
    FoldCost c;
    c.traffic.dram_ofmap = m_pending_writeback;
    c.traffic.sram_ofmap_reads =
        static_cast<double>(std::max<int64_t>(0, m_psum_writes - m_outputs)) * m_bytes.psum;
    if (m_dram_stalls) c.traffic.dram_stall = transfer_cycles(m_pending_writeback);
    c.stall = c.traffic.dram_stall;
    m_pending_writeback = 0;
    return c;
}

}  // namespace accsim
