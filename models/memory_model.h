#pragma once
// The memory system's arithmetic: which bytes each fold moves between DRAM and the three
// on-chip buffers, and the cycles the array stalls for them. The SystemC MemorySystem module
// is a thin shell around it; a real DRAM simulator could replace the DRAM side behind
// MemoryModel's narrow interface (fold in, bytes and stall cycles out).
//
// DRAM: an operand whose unique data fits its buffer (half of it when double-buffered) is
// loaded once, at its first fold; otherwise every fold loads the tile it needs unless the fold
// before used the same tile. A load takes latency + bytes / bandwidth cycles. Into a
// double-buffered buffer it overlaps the previous fold's compute (the array stalls only for
// what sticks out); into a single-buffered one it stalls in full. Finished outputs go back to
// DRAM during the next fold (double-buffered ofmap) or at once; the last ones stall the layer.
// Partial sums of an output tile still waiting for its last K fold stay in the ofmap buffer;
// when they do not fit (half of it when double-buffered) they go to DRAM and come back.
// SRAM: a fold reads its streaming operands during its streaming cycles and its stationary
// operand during its preload cycles, and writes partial sums while streaming; a buffer slower
// than that stretches the fold (stall cycles).
#include <cstdint>

#include "models/fold_schedule.h"
#include "models/memory_spec.h"

namespace accsim {

// Bytes per element: operands by their widths (4-bit weights: 0.5), partial sums by the width
// of the stage that produced them, outputs by the last stage's width.
struct ElementBytes {
    double ifmap = 1, filter = 1, psum = 4, output = 4;
};

struct TrafficCounters {
    double dram_ifmap = 0, dram_filter = 0, dram_ofmap = 0;  // bytes read (ofmap: written)
    double sram_ifmap = 0, sram_filter = 0, sram_ofmap = 0;  // bytes the array read or wrote
    // Of dram_ofmap, the spilled partial sums read back into the ofmap buffer.
    double dram_ofmap_refill = 0;
    // Partial sums the accumulator read back to add to (every write of an output but its first);
    // priced as energy, not as bandwidth (the accumulator buffer reads and writes each cycle).
    double sram_ofmap_reads = 0;
    int64_t dram_stall = 0, sram_stall = 0;  // cycles
    double dram() const { return dram_ifmap + dram_filter + dram_ofmap; }
    void add(const TrafficCounters& o);
};

struct FoldCost {
    int64_t stall = 0;  // cycles the fold waits beyond its compute
    TrafficCounters traffic;
};

class MemoryModel {
  public:
    // `dram_stalls` false: DRAM never stalls (SCALE-Sim's InterfaceBandwidth CALC);
    // `sram_limits` false: buffers serve whatever the array asks (SCALE-Sim's SRAM model).
    MemoryModel(const MemorySpec& spec, bool dram_stalls, bool sram_limits);

    void begin_layer(const LayerWork& work, const ElementBytes& bytes);
    // The cost of fold `f`, given the compute cycles of the fold before it (0 for the first).
    FoldCost fold(const Fold& f, int64_t previous_compute);
    // After the last fold: its outputs' write-back.
    FoldCost end_layer();

  private:
    int64_t transfer_cycles(double bytes) const;

    MemorySpec m_spec;
    bool m_dram_stalls, m_sram_limits;
    ElementBytes m_bytes;
    double m_ifmap_total = 0, m_filter_total = 0;
    bool m_ifmap_resident = false, m_filter_resident = false;
    bool m_ifmap_loaded = false, m_filter_loaded = false;
    int64_t m_last_ifmap_tile = -1, m_last_filter_tile = -1;
    double m_pending_writeback =
        0;  // bytes of outputs finished (or partial sums spilled) by the previous fold
    double m_pending_refill = 0;  // spilled partial sums to read back
    int64_t m_outputs = 0, m_psum_writes = 0;
};

}  // namespace accsim
