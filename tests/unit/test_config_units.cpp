// Every key of every preset's effective config has a unit in the one table that `accsim
// validate` prints from (a new key without a unit fails here, not silently in the output).
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/config_units.h"
#include "config/hw_config.h"

using namespace accsim;

namespace {

using Leaf = std::pair<std::string, nlohmann::ordered_json>;

void leaves(const nlohmann::ordered_json& v, const std::string& path, std::vector<Leaf>& out) {
    if (v.is_object()) {
        for (const auto& [k, child] : v.items())
            leaves(child, path.empty() ? k : path + "." + k, out);
    } else if (v.is_array() && !v.empty() && v.front().is_object()) {
        for (std::size_t i = 0; i < v.size(); ++i)
            leaves(v[i], path + "." + std::to_string(i), out);
    } else {
        out.emplace_back(path, v);
    }
}

}  // namespace

TEST_CASE("every key of every preset has a unit, and validate prints it") {
    int presets = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(
             std::string(ACCSIM_SOURCE_DIR) + "/configs")) {
        if (e.path().extension() != ".json") continue;
        ConfigSources src;
        src.file = e.path().string();
        const HwConfig c = load_config(src);
        std::vector<Leaf> found;
        leaves(c.effective, "", found);
        const std::string listing = render_config(c.effective);
        for (const auto& [p, value] : found) {
            CAPTURE(e.path().string());
            CAPTURE(p);
            const auto unit = unit_of(p);
            REQUIRE(unit.has_value());
            // A number always has a unit (names, choices and switches need none).
            if (value.is_number() || (value.is_array() && !value.empty()))
                CHECK_FALSE(unit->empty());
            CHECK(listing.find(p + " ") != std::string::npos);
        }
        ++presets;
    }
    CHECK(presets >= 10);
}

TEST_CASE("units by key: sizes in KiB, bandwidths in bytes per cycle, energies in pJ") {
    CHECK(*unit_of("memory.ifmap.size_kb") == "KiB");
    CHECK(*unit_of("memory.dram.bandwidth_bytes_per_cycle") == "bytes/cycle");
    CHECK(*unit_of("accumulator.stages.1.bits") == "bits");
    CHECK(*unit_of("energy.dram_pj_per_bit") == "pJ/bit");
    CHECK(*unit_of("energy.zero_gating.multiply") == "x a full operation");
    CHECK(*unit_of("fpga.power.bram18_uw_per_mhz") == "uW/MHz");
    CHECK(*unit_of("name") == "");
    CHECK_FALSE(unit_of("energy.colour").has_value());
}
