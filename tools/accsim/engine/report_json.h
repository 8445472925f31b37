#pragma once
// report.json, the one source of every report (README.md, "What the audit reports", lists its
// keys): built here from what the engine computed; layers.csv, the terminal table and
// report.html are renderings of it (report/), which know nothing of the engine.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/hw_config.h"
#include "datapath/float_stats.h"
#include "engine/layer_audit.h"
#include "engine/layer_cost.h"
#include "models/layer_timing.h"
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

// The parts of a layer's entry: "overflow", "bounds" (for a dot length k, the operands'
// formats and the output channels) and "status" (corrupted, overflow, at_risk or safe).
nlohmann::ordered_json overflow_json(const OverflowStats& overflow);
// A float-replayed layer's "float" object (engine/float_audit.h).
nlohmann::ordered_json float_json(const FloatStats& f);
nlohmann::ordered_json bounds_json(const LayerAudit& audit, const AccumulatorSpec& acc, int64_t k,
                                   const OperandFormat& x, const OperandFormat& q,
                                   int64_t channels);
std::string layer_status(const LayerAudit& audit);

// A 128-bit magnitude as a JSON number: exact while it fits 64 bits.
nlohmann::ordered_json wide_to_json(u128 v);

}  // namespace accsim
