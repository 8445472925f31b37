#pragma once
// The transaction-level arithmetic of a fold: the outputs a fold completes, each reduced over
// its whole dot product in the order the hardware adds it (stage by stage, as the config's
// stages sit on the array), by a datapath kernel (today the reference reducer; the fast engine
// replaces it). Values do not change the timing, so a transaction carries whole output tiles.
#include <cstdint>
#include <vector>

#include "datapath/accumulator_spec.h"
#include "datapath/reference_reducer.h"
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
    TileKernel(const AccumulatorSpec& spec, int64_t k);
    void run(const OutputTile& tile, const OperandSource& source, OutputSink& sink);

  private:
    ReferenceReducer m_reducer;
    int64_t m_k;
    std::vector<int32_t> m_x, m_q;
    std::vector<int64_t> m_products;
    DotOutcome m_outcome;
};

}  // namespace accsim
