#pragma once
// SCALE-Sim v2 compatibility: its .cfg files (translated into an accsim config that follows
// SCALE-Sim's timing conventions), its topology CSVs (conv and gemm forms, as timing-only
// layers), and its COMPUTE_REPORT.csv / BANDWIDTH_REPORT.csv. Where accsim's numbers can differ
// from SCALE-Sim's, configs/README.md says so and why.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/array_spec.h"
#include "models/layer_timing.h"
#include "models/layer_work.h"

namespace accsim {

bool is_scalesim_cfg(const std::string& path);  // by its extension, .cfg
// Throws InputError(file, "[section] key (line N)", ...) on anything it cannot translate.
nlohmann::json scalesim_cfg_to_json(const std::string& path);

enum class TopologyFormat { conv, gemm };
std::vector<LayerWork> read_topology(const std::string& path, TopologyFormat format);

void write_scalesim_reports(const std::string& dir, const ArraySpec& array,
                            const std::vector<LayerWork>& layers,
                            const std::vector<LayerTiming>& timings);

// Python's repr of a float (shortest round trip, "100.0" not "100"), as SCALE-Sim prints them.
std::string python_float(double v);

}  // namespace accsim
