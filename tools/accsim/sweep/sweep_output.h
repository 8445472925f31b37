#pragma once
// What a sweep writes: sweep.json (every point's record, the Pareto fronts, the narrowest safe
// configuration per layer, how many replays were derived), sweep.csv (one row per point: the
// swept values, the totals, then every layer's figures) and sweep.html; and the summary printed
// at the end.
//
// Pareto fronts: corrupted outputs against energy, against LUTs (FPGA) and against cycles, both
// minimized; a point is on a front when no other point is at least as good in both and better
// in one (equal points are all on it). Points without the figure are off the front.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/hw_config.h"
#include "sweep/sweep_grid.h"

namespace accsim {

// The costs a front weighs corrupted outputs against: key in sweep.json, record path, label.
struct ParetoAxis {
    const char* key;
    const char* label;
};
const std::vector<ParetoAxis>& pareto_axes();
// Which points are on the front of (cost, y), both minimized: not dominated by a point at least
// as good in both and better in one. Sorting makes it O(n log n).
std::vector<bool> pareto_front(const std::vector<double>& cost, const std::vector<double>& y);

// The accumulator's total width (the sum of its stages' bits), the cost axis of the width plot.
int64_t total_bits(const nlohmann::ordered_json& record);

// The largest error of a point: in real units when every layer has them, else accumulator units.
double point_error(const nlohmann::ordered_json& record);

// The point's figure for a Pareto axis ("energy", "lut", "cycles"), or null.
nlohmann::ordered_json pareto_cost(const nlohmann::ordered_json& record, const std::string& key);

// `records`: every point's record (sweep.cpp), in point order; marks their Pareto flags.
nlohmann::ordered_json build_sweep_json(nlohmann::ordered_json trace,
                                        const nlohmann::ordered_json& base_config,
                                        const std::vector<GridAxis>& axes,
                                        const std::vector<std::string>& accs,
                                        std::vector<nlohmann::ordered_json> records);

std::string render_sweep_csv(const nlohmann::ordered_json& sweep);
// `resumed`: points read back from an earlier run; `seconds`: this run's wall time.
std::string render_sweep_summary(const nlohmann::ordered_json& sweep, std::size_t resumed,
                                 double seconds);

// Writes DIR/sweep.json, sweep.csv and sweep.html.
void write_sweep_outputs(const std::string& dir, const nlohmann::ordered_json& sweep);

}  // namespace accsim
