#pragma once
// The cost sections of a hardware configuration: "energy" (the per-action table) and "fpga"
// (device, datapath style, power per resource). Validated here, echoed into the effective
// config; configs/README.md documents every key, its unit and its sources.
#include <nlohmann/json.hpp>

#include "config/hw_config.h"
#include "models/energy_spec.h"
#include "models/fpga_spec.h"
#include "traces/json_cursor.h"

namespace accsim {

// An FPGA's energy table holds only DRAM (its datapath is priced from its resources).
EnergySpec parse_energy(const JsonCursor& c, bool fpga_target);
FpgaSpec parse_fpga(const JsonCursor& c);

nlohmann::ordered_json energy_json(const EnergySpec& e, const std::string& source);
nlohmann::ordered_json fpga_json(const FpgaSpec& f, const std::string& device_source,
                                 const std::string& power_source);

}  // namespace accsim
