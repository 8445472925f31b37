#pragma once
// The JSON report (CONTRACT section 8) is the one source; CSV, the terminal table and (later)
// HTML are renderings of it.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hw_config.h"
#include "layer_audit.h"
#include "layer_cost.h"
#include "models/accelerator.h"
#include "traces/trace.h"

namespace accsim {

inline constexpr const char* k_report_schema = "accsim-report/1";

// One row of the report: the audit (bounds, overflow) and the timing of a layer; either may be
// absent (a timing-only SCALE-Sim run has no values; an audit no timing).
struct ReportLayer {
    std::string name, op;
    int64_t dot_length = 0, outputs = 0, macs = 0;
    const LayerAudit* audit = nullptr;
    const LayerTiming* timing = nullptr;
    const LayerCost* cost = nullptr;
};
ReportLayer report_layer(const LayerAudit& audit, const LayerTiming* timing = nullptr,
                         const LayerCost* cost = nullptr);

// The "trace" section for a trace (`reported` layers of it were run).
nlohmann::ordered_json trace_section(const Trace& trace, std::size_t reported);

// `command` is "audit" (run-only sections null) or "run".
// `costs`: a run's energy and FPGA resources (null in an audit).
nlohmann::ordered_json build_report(const std::string& command, nlohmann::ordered_json source,
                                    const HwConfig& config, const std::vector<ReportLayer>& layers,
                                    const RunCosts* costs = nullptr);

// Renderings.
std::string render_csv(const nlohmann::ordered_json& report);
// One CSV cell: null empty, strings quoted when they must be, numbers as JSON writes them.
std::string csv_cell(const nlohmann::ordered_json& v);
std::string render_table(const nlohmann::ordered_json& report);

// A 128-bit magnitude as a JSON number: exact while it fits 64 bits.
nlohmann::ordered_json wide_to_json(u128 v);

}  // namespace accsim
