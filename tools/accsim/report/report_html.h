#pragma once
// report.html: report.json rendered as one self-contained page (inline CSS and SVG, no script,
// nothing fetched), so it can be mailed, archived or opened offline.
#include <nlohmann/json.hpp>
#include <string>

namespace accsim {

std::string render_html(const nlohmann::ordered_json& report);

}  // namespace accsim
