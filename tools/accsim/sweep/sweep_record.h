#pragma once
// The compact record of one sweep point (sweep.json's "points", one journal line each): its
// swept values, its accumulator, and per layer and in total what `accsim run` (or audit, without
// hardware) reports for it: events, corrupted outputs, errors, widths, cycles, energy, power and
// FPGA resources, and how each layer's values were obtained ("replay").
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/hw_config.h"
#include "sweep/sweep_grid.h"

namespace accsim {

// The swept values of a point, as its record carries them.
nlohmann::ordered_json point_values(const SweepPoint& p);

// `report`: the report `accsim run` (or audit) would write for the point; `replay`: per layer,
// how its values were obtained; `simulated`: how many of them this point replayed.
nlohmann::ordered_json point_record(std::size_t index, const SweepPoint& p, const HwConfig& config,
                                    const nlohmann::ordered_json& report,
                                    const std::vector<std::string>& replay, int simulated);

}  // namespace accsim
