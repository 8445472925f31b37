#pragma once
// The plan of a sweep, made the same way by every process of a job from the command alone: the
// points and their configs, the distinct accumulators they share (points that differ only in
// timing or cost parameters share their values), and per layer the chains in which the
// derivations run (sweep_values.h). Nothing in it depends on the thread or process count, on a
// journal or on a --shard slice.
#include <memory>
#include <string>
#include <vector>

#include "config/hw_config.h"
#include "sweep/sweep.h"
#include "sweep/sweep_grid.h"
#include "sweep/sweep_values.h"
#include "traces/trace.h"

namespace accsim {

struct SweepPlan {
    std::vector<SweepPoint> points;
    std::vector<std::unique_ptr<HwConfig>> configs;  // per point
    // The distinct accumulators (with their mapping), in the order of their first point.
    std::vector<const HwConfig*> values;
    std::vector<std::size_t> value_of;                // point -> its distinct accumulator
    std::vector<std::size_t> owner;                   // distinct accumulator -> its first point
    std::vector<std::vector<std::size_t>> points_of;  // distinct accumulator -> its points
    std::vector<ValueChain> chains;
    // [distinct accumulator][layer] -> (chain, position in it)
    std::vector<std::vector<std::pair<std::size_t, std::size_t>>> place;
    bool any_hardware = false;
};

// Loads every point's config and checks every layer fits every point's hardware. Throws
// InputError naming the point.
SweepPlan make_sweep_plan(const SweepOptions& options, const Trace& trace,
                          const std::vector<const LayerSpec*>& layers);

// Which points shard k (1-based) of n computes: the grid ordered by accumulator layout, then
// width, then point, cut into n slices of nearly equal size. A deterministic function of the
// plan: a shard replays what its points need, and the narrower members of their chains that
// their derivations start from.
std::vector<std::size_t> shard_points(const SweepPlan& plan, int k, int n);

bool has_hardware(const HwConfig& c);

}  // namespace accsim
