#include "timing_replay.h"

#include <algorithm>

namespace accsim {

LayerTiming begin_layer_timing(const ArraySpec& array, const LayerWork& work,
                               const FoldSchedule& s) {
    LayerTiming t;
    t.folds = static_cast<int64_t>(s.folds.size());
    t.macs = work.macs();
    t.pe_count = s.pe_count;
    t.mapping_efficiency = s.mapping_efficiency;
    if (array.kind == ArrayKind::systolic)
        t.scalesim_compute_util = scalesim_compute_util(array, s);
    return t;
}

void end_layer_timing(LayerTiming& t, const FoldSchedule& s, int64_t elapsed) {
    t.compute += s.extra_cycles;
    t.total = elapsed + s.extra_cycles;  // a negative extra: one cycle short
    t.stall = t.traffic.dram_stall + t.traffic.sram_stall;
}

std::vector<LayerTiming> replay_timing(const ArraySpec& array, const MemorySpec& memory,
                                       const AccumulatorSpec& acc,
                                       const std::vector<TimedLayer>& layers,
                                       TimingConvention convention, bool dram_stalls,
                                       bool sram_limits) {
    const int64_t stage1_length = acc.stages.size() > 1 ? *acc.stages.front().length : 0;
    MemoryModel model(memory, dram_stalls, sram_limits);  // one memory system for the whole run
    std::vector<LayerTiming> out;
    for (const TimedLayer& layer : layers) {
        const FoldSchedule s = schedule_folds(array, layer.work, convention, stage1_length);
        LayerTiming t = begin_layer_timing(array, layer.work, s);
        model.begin_layer(layer.work, layer.bytes);
        int64_t elapsed = 0, previous = 0;
        for (const Fold& f : s.folds) {
            // The controller waits for the fold's data, then for its compute.
            const FoldCost c = model.fold(f, previous);
            t.traffic.add(c.traffic);
            elapsed += std::max<int64_t>(c.stall, 0) + std::max<int64_t>(f.compute_cycles, 0);
            previous = std::max<int64_t>(f.compute_cycles, 0);
            t.compute += previous;
        }
        const FoldCost w = model.end_layer();
        t.traffic.add(w.traffic);
        elapsed += std::max<int64_t>(w.stall, 0);
        end_layer_timing(t, s, elapsed);
        out.push_back(t);
    }
    return out;
}

}  // namespace accsim
