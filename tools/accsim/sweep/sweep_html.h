#pragma once
// sweep.html: a self-contained page (inline CSS and SVG, no script, nothing fetched) with the
// sweep's Pareto plots (corrupted outputs against energy, LUTs and cycles, and against the
// accumulator's total width), the fronts' points, the narrowest safe configuration per layer
// and every point.
#include <nlohmann/json.hpp>
#include <string>

namespace accsim {

std::string render_sweep_html(const nlohmann::ordered_json& sweep);

}  // namespace accsim
