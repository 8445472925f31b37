#pragma once
// The transaction-level arithmetic of a fold: the outputs a fold completes, each reduced over
// its whole dot product in the order the hardware adds it (stage by stage, as the config's
// stages sit on the array), by the fast replay (datapath/fast_reducer.h) on `threads` threads.
// Values do not change the timing, so a transaction carries whole output tiles.
#include <cstdint>
#include <vector>

#include "datapath/accumulator_spec.h"
#include "datapath/fast_reducer.h"
#include "models/array_spec.h"
#include "models/fold_schedule.h"
#include "models/value_interfaces.h"

namespace accsim {

// The outputs a fold completes: positions [m0, m1) x channels [n0, n1) of a group (a tensor
// core wave completes several such tiles).
struct OutputTile {
    int64_t group, m0, m1, n0, n1;
};
std::vector<OutputTile> completed_tiles(const ArraySpec& array, const LayerWork& work,
                                        const Fold& f);

class TileKernel {
  public:
    // stage1_safe: stage 1 is proven unable to overflow (FastReducer::set_stage1_safe).
    TileKernel(const AccumulatorSpec& spec, const LayerWork& work, int threads = 1,
               bool stage1_safe = false);
    void run(const OutputTile& tile, const OperandSource& source, OutputSink& sink);

  private:
    // The operands of the group the last tile belonged to, gathered and packed once: an array
    // completes a group's outputs over many folds, which share its inputs and weights.
    void load_group(int64_t group, const OperandSource& source);

    AccumulatorSpec m_spec;
    LayerWork m_work;
    int64_t m_k;
    int64_t m_group = -1;
    // A group's inputs are kept whole up to this many values (256 MB); beyond, per tile.
    static constexpr int64_t k_max_group_x = int64_t{1} << 26;
    std::vector<int32_t> m_group_x, m_group_q;  // m x k and n x k
    std::vector<int32_t> m_tile_x;
    PackedWeights m_group_packed;
    int m_threads;
    bool m_stage1_safe;
    FastReducer m_planner;  // packs each tile's weights once for its row blocks
    std::vector<int64_t> m_bias;
    std::vector<OutputBlock> m_blocks;
};

}  // namespace accsim
