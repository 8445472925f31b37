#pragma once
// How a layer is tiled onto an array: the folds it runs, in order, with the cycles each takes
// and the bytes each moves. Pure arithmetic, shared by the transaction-level and cycle modes
// (which must agree on it) and by the timing-only SCALE-Sim runs. Each array kind builds its own
// folds (models/arrays/: systolic os/ws/is after SCALE-Sim, the FINN vector unit, tensor cores;
// each file states its mapping and cycle formula).
#include <cstdint>
#include <vector>
#include "datapath/enum_names.h"

#include "models/array_spec.h"
#include "models/layer_work.h"

namespace accsim {

enum class TimingConvention { native, scalesim };
inline constexpr EnumName<TimingConvention> k_timing_convention_names[] = {
    {TimingConvention::native, "native"}, {TimingConvention::scalesim, "scalesim"}};
inline const char* to_string(TimingConvention v) {
    return name_of(k_timing_convention_names, v);
}

struct Fold {
    int64_t group = 0;
    int64_t row_fold = 0,
            col_fold = 0;  // vector: col_fold = output-channel fold; tensor core: unused
    int64_t rows_used = 0, cols_used = 0;
    int64_t t = 0;  // operand vectors streamed through (systolic), cycles of work otherwise
    int64_t compute_cycles = 0;  // with fill and drain
    int64_t stream_cycles = 0;   // the part that reads the streaming operands
    int64_t preload_cycles = 0;  // the part that loads the stationary operand
    int64_t macs = 0;            // useful MACs in this fold
    // On-chip traffic in this fold, in operand elements (bytes follow from widths).
    int64_t ifmap_reads = 0, filter_reads = 0;
    int64_t psum_writes = 0;   // partial sums leaving the array into the accumulator
    int64_t outputs_done = 0;  // outputs completed at the end of this fold
    bool ifmap_stationary = false, filter_stationary = false;
    // Which tile of each operand the fold needs from DRAM (equal ids: the same data), and the
    // fraction of that operand's unique data the tile holds.
    int64_t ifmap_tile = 0, filter_tile = 0;
    double ifmap_fraction = 0, filter_fraction = 0;
};

struct FoldSchedule {
    std::vector<Fold> folds;
    int64_t extra_cycles = 0;       // per layer: pipeline depth, or SCALE-Sim's -1
    double pe_count = 0;            // MAC units of the array (MACs per cycle, for tensor cores)
    double mapping_efficiency = 0;  // mean over folds of the PEs mapped
    int64_t compute_cycles() const;
};

// `stage1_length`: an os PE hands its partial sum to stage 2 every this many products (the
// config's stage-1 length; 0: once, at the end).
FoldSchedule schedule_folds(const ArraySpec& array, const LayerWork& work,
                            TimingConvention convention, int64_t stage1_length = 0);

// How many folds the layer takes on the array, without building them (to refuse absurd layers).
int64_t fold_count(const ArraySpec& array, const LayerWork& work);

// SCALE-Sim's "compute util": the mean over folds of used MACs x T / (R C x cycles of the fold),
// where its code measures a ws/is fold as 2R + 2C + T - 3 and an os fold as T + R + C - 2.
double scalesim_compute_util(const ArraySpec& array, const FoldSchedule& s);

}  // namespace accsim
