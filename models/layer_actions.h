#pragma once
// What a layer does on the hardware, counted as actions that a cost model prices: multiplies
// (and how many had a zero operand), additions and register writes per accumulator stage,
// partial sums passed between stages, bytes read and written per buffer and DRAM, and cycles.
// Counted once per layer from the layer's shape, the stages and the models' traffic counters;
// energy is computed from these at report time (models/energy_model.h, fpga_energy.h).
#include <cstdint>
#include <optional>
#include <vector>

#include "datapath/accumulator_spec.h"
#include "models/layer_timing.h"
#include "models/layer_work.h"
#include "models/operand_activity.h"

namespace accsim {

struct StageActions {
    int bits = 0;
    double inputs = 0;     // values entering the stage (products for stage 1)
    double additions = 0;  // each writes the stage's register (bias included)
    double passed_on = 0;  // tile results handed to the next stage (0 for the last)
    // Stage 2 keeps its partial sums in the ofmap buffer (a systolic array's accumulator buffer,
    // a vector unit's accumulators, a tensor core's fragments: the memory model moves their bytes
    // there): its registers are that buffer's words, paid as SRAM reads and writes, and the
    // hand-off from stage 1 is the buffer write.
    bool in_buffer = false;
};

struct LayerActions {
    int64_t macs = 0;
    // Products with a zero operand; nullopt when the run had no values (a topology run).
    std::optional<ZeroProducts> zero_products;
    int x_bits = 8, w_bits = 8;
    std::vector<StageActions> stages;
    // Bytes: reads by the array and fills from DRAM write the operand buffers; partial sums (and
    // spilled ones coming back) write the ofmap buffer, and the accumulator's read-backs and the
    // write-back to DRAM read it.
    double ifmap_reads = 0, ifmap_writes = 0;
    double filter_reads = 0, filter_writes = 0;
    double ofmap_reads = 0, ofmap_writes = 0;
    double dram_bytes = 0;
    int64_t cycles = 0;
    double pe_count = 0;  // MACs the array can do per cycle
};

// `has_bias`: the layer has a bias and the config adds it (one more addition per output in the
// last stage).
LayerActions count_actions(const LayerWork& work, const AccumulatorSpec& acc, bool has_bias,
                           const LayerTiming& timing, std::optional<ZeroProducts> zero_products);

}  // namespace accsim
