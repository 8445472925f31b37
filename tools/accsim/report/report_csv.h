#pragma once
// layers.csv: report.json as one row per layer (the figures a spreadsheet needs, flattened).
#include <nlohmann/json.hpp>
#include <string>

namespace accsim {

std::string render_csv(const nlohmann::ordered_json& report);
// One CSV cell: null empty, strings quoted when they must be, numbers as JSON writes them.
std::string csv_cell(const nlohmann::ordered_json& v);

}  // namespace accsim
