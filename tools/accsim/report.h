#pragma once
// The JSON report (CONTRACT section 8) is the one source; CSV, the terminal table and (later)
// HTML are renderings of it.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hw_config.h"
#include "layer_audit.h"
#include "traces/trace.h"

namespace accsim {

inline constexpr const char* k_report_schema = "accsim-report/1";

// `command` is "audit" (run-only sections null) or later "run".
nlohmann::ordered_json build_report(const std::string& command, const Trace& trace,
                                    const HwConfig& config, const std::vector<LayerAudit>& audits);

// Renderings.
std::string render_csv(const nlohmann::ordered_json& report);
std::string render_table(const nlohmann::ordered_json& report);

// A 128-bit magnitude as a JSON number: exact while it fits 64 bits.
nlohmann::ordered_json wide_to_json(u128 v);

}  // namespace accsim
