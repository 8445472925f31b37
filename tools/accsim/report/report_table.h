#pragma once
// The terminal summary of report.json: one line per layer and a totals line, with a legend.
#include <nlohmann/json.hpp>
#include <string>

namespace accsim {

std::string render_table(const nlohmann::ordered_json& report);

}  // namespace accsim
