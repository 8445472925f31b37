#include "sweep/sweep_plan.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "datapath/input_error.h"
#include "engine/layer_binding.h"
#include "engine/run_setup.h"

namespace accsim {

using Json = nlohmann::ordered_json;

namespace {

// The config of one point: the base sources, the point's layout as --acc, its values as --set.
HwConfig point_config(const SweepOptions& o, const SweepPoint& p, std::size_t index) {
    ConfigSources s = o.base;
    if (p.acc) s.acc = *p.acc;
    for (const auto& [path, value] : p.sets) s.sets.push_back(path + "=" + value);
    try {
        return load_config(s);
    } catch (const InputError& e) {
        // The layout's fault when --acc was refused, the grid's otherwise.
        throw InputError(p.acc && e.file() == "--acc" ? "--acc-grid" : "--grid",
                         "point " + std::to_string(index) + " (" + p.label() + ")",
                         e.file() + ": " + e.field() + ": " + e.problem());
    }
}

// An accumulator's layout whatever the layer: mapping, bias placement, tile lengths, reductions.
std::string layout_family(const HwConfig& c) {
    std::string key =
        std::to_string(static_cast<int>(c.k_order)) + "|" + to_string(c.accumulator.bias);
    for (const StageSpec& s : c.accumulator.stages)
        key += "|" + (s.length ? std::to_string(*s.length) : std::string("-")) +
               (s.reduction == Reduction::tree ? "t" : "s");
    return key;
}

}  // namespace

bool has_hardware(const HwConfig& c) {
    return c.array.has_value() && c.memory.has_value();
}

SweepPlan make_sweep_plan(const SweepOptions& o, const Trace& trace,
                          const std::vector<const LayerSpec*>& layers) {
    SweepPlan plan;
    plan.points = expand_grid(o.axes, o.accs);
    for (std::size_t i = 0; i < plan.points.size(); ++i)
        plan.configs.push_back(std::make_unique<HwConfig>(point_config(o, plan.points[i], i)));
    for (std::size_t i = 0; i < plan.points.size(); ++i) {
        const HwConfig& c = *plan.configs[i];
        if (!has_hardware(c)) continue;
        plan.any_hardware = true;
        const SimOptions so = sim_options(c, SimMode::tlm, "");
        for (const LayerSpec* l : layers) check_size(layer_work(*l), c, so, trace.manifest_path());
    }
    // Distinct accumulators (with their mapping) over the whole grid: the values' keys.
    std::map<std::string, std::size_t> distinct;
    plan.value_of.resize(plan.points.size());
    for (std::size_t i = 0; i < plan.points.size(); ++i) {
        const HwConfig& c = *plan.configs[i];
        const std::string key =
            c.effective["accumulator"].dump(-1, ' ', false, Json::error_handler_t::replace) +
            c.effective["mapping"].dump(-1, ' ', false, Json::error_handler_t::replace);
        auto [it, fresh] = distinct.emplace(key, plan.values.size());
        if (fresh) {
            plan.values.push_back(&c);
            plan.owner.push_back(i);
            plan.points_of.emplace_back();
        }
        plan.value_of[i] = it->second;
        plan.points_of[it->second].push_back(i);
    }
    plan.chains = make_chains(plan.values, layers);
    plan.place.assign(plan.values.size(),
                      std::vector<std::pair<std::size_t, std::size_t>>(layers.size(), {0, 0}));
    for (std::size_t c = 0; c < plan.chains.size(); ++c)
        for (std::size_t w = 0; w < plan.chains[c].members.size(); ++w)
            plan.place[plan.chains[c].members[w]][plan.chains[c].layer] = {c, w};
    return plan;
}

std::vector<std::size_t> shard_points(const SweepPlan& plan, int k, int n) {
    std::vector<std::size_t> order(plan.points.size());
    std::iota(order.begin(), order.end(), 0);
    std::vector<std::string> family(plan.values.size());
    std::vector<std::vector<int>> widths(plan.values.size());
    for (std::size_t v = 0; v < plan.values.size(); ++v) {
        family[v] = layout_family(*plan.values[v]);
        widths[v] = stage_widths(*plan.values[v]);
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const std::size_t va = plan.value_of[a], vb = plan.value_of[b];
        if (family[va] != family[vb]) return family[va] < family[vb];
        const int sa = std::accumulate(widths[va].begin(), widths[va].end(), 0),
                  sb = std::accumulate(widths[vb].begin(), widths[vb].end(), 0);
        if (sa != sb) return sa < sb;
        if (widths[va] != widths[vb]) return widths[va] < widths[vb];
        if (va != vb) return va < vb;
        return a < b;
    });
    const std::size_t total = order.size();
    const std::size_t from = total * static_cast<std::size_t>(k - 1) / static_cast<std::size_t>(n),
                      to = total * static_cast<std::size_t>(k) / static_cast<std::size_t>(n);
    std::vector<std::size_t> mine(order.begin() + static_cast<std::ptrdiff_t>(from),
                                  order.begin() + static_cast<std::ptrdiff_t>(to));
    std::sort(mine.begin(), mine.end());
    return mine;
}

}  // namespace accsim
