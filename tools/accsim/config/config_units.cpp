#include "config/config_units.h"

#include <algorithm>
#include <sstream>
#include <utility>
#include <vector>

namespace accsim {

namespace {

// Keys whose meaning holds wherever they appear.
const std::pair<const char*, const char*> k_units[] = {
    // Sections, printed when absent (null).
    {"array", ""},
    {"memory", ""},
    {"energy", ""},
    {"fpga", ""},
    {"thresholds", ""},
    {"gpu", ""},
    {"sms", "streaming multiprocessors"},
    {"name", ""},
    {"description", ""},
    {"source", ""},
    {"target", ""},
    {"clock_mhz", "MHz"},
    {"kind", ""},
    {"rows", "PEs"},
    {"cols", "PEs"},
    {"dataflow", ""},
    {"pe", "output lanes"},
    {"simd", "inputs per lane per cycle"},
    {"m", "rows of an MMA"},
    {"n", "columns of an MMA"},
    {"k", "products per MMA output"},
    {"units", "tensor cores"},
    {"mma_cycles", "cycles per MMA"},
    {"size_kb", "KiB"},
    {"bandwidth_bytes_per_cycle", "bytes/cycle"},
    {"double_buffered", ""},
    {"latency_cycles", "cycles"},
    {"convention", ""},
    {"dram_stalls", ""},
    {"sram_limits", ""},
    {"k_order", ""},
    {"length", "inputs per tile"},
    {"bits", "bits"},
    {"overflow", ""},
    {"reduction", ""},
    {"bias", ""},
    {"exponent_bits", "bits"},
    {"mantissa_bits", "bits"},
    {"group", "terms per step"},
    {"fraction_bits", "bits kept below the largest exponent"},
    {"rounding", ""},
    {"pj", "pJ per operation at the reference width"},
    {"a_bits", "bits (reference input width)"},
    {"b_bits", "bits (reference weight width)"},
    {"scaling", ""},
    {"register_pj_per_bit", "pJ/bit"},
    {"pj_per_64b", "[KiB, pJ per 64-bit access]"},
    {"write_factor", "x the energy of a read"},
    {"dram_pj_per_bit", "pJ/bit"},
    {"static_mw", "mW"},
    {"lut", "LUTs"},
    {"ff", "flip-flops"},
    {"dsp", "DSP slices"},
    {"bram18", "18 Kb block RAMs"},
    {"uram", "288 Kb UltraRAMs"},
    {"multipliers", ""},
    {"weights", ""},
    {"output_bits", "bits"},
    {"toggle_rate", "fraction of cycles a signal toggles"},
    {"lut_uw_per_mhz", "uW/MHz"},
    {"ff_uw_per_mhz", "uW/MHz"},
    {"dsp_uw_per_mhz", "uW/MHz"},
    {"bram18_uw_per_mhz", "uW/MHz"},
    {"uram_uw_per_mhz", "uW/MHz"},
};

// Keys whose meaning depends on where they are: the full path wins over the key's name.
const std::pair<const char*, const char*> k_path_units[] = {
    {"energy.add.bits", "bits (reference register width)"},
    {"energy.zero_gating.operand", ""},
    {"energy.zero_gating.multiply", "x a full operation"},
    {"energy.zero_gating.add", "x a full operation"},
    {"fpga.thresholds.depth", "output channels per PE (vector) or column (systolic)"},
};

std::string last_key(const std::string& path) {
    std::vector<std::string> parts;
    std::stringstream ss(path);
    std::string p;
    while (std::getline(ss, p, '.')) parts.push_back(p);
    // A list element (accumulator.stages.0.bits: "bits"; energy.sram.pj_per_64b.0: its list).
    while (!parts.empty() && !parts.back().empty() &&
           std::all_of(parts.back().begin(), parts.back().end(),
                       [](char c) { return c >= '0' && c <= '9'; }))
        parts.pop_back();
    return parts.empty() ? "" : parts.back();
}

}  // namespace

std::optional<std::string> unit_of(const std::string& path) {
    for (const auto& [p, unit] : k_path_units)
        if (path == p) return std::string(unit);
    const std::string key = last_key(path);
    for (const auto& [name, unit] : k_units)
        if (key == name) return std::string(unit);
    return std::nullopt;
}

namespace {

void walk(const nlohmann::ordered_json& v, const std::string& path,
          std::vector<std::pair<std::string, std::string>>& out) {
    if (v.is_object() && !v.empty()) {
        for (const auto& [k, child] : v.items())
            walk(child, path.empty() ? k : path + "." + k, out);
        return;
    }
    // Lists of numbers (SRAM points) print whole; lists of objects (stages) per element.
    if (v.is_array() && !v.empty() && v.front().is_object()) {
        for (std::size_t i = 0; i < v.size(); ++i) walk(v[i], path + "." + std::to_string(i), out);
        return;
    }
    std::string value = v.is_string() ? v.get<std::string>() : v.dump();
    const auto unit = unit_of(path);
    if (unit && !unit->empty() && !v.is_null()) value += " " + *unit;
    out.emplace_back(path, value);
}

}  // namespace

std::string render_config(const nlohmann::ordered_json& effective) {
    std::vector<std::pair<std::string, std::string>> rows;
    walk(effective, "", rows);
    std::size_t width = 0;
    for (const auto& r : rows) width = std::max(width, r.first.size());
    std::string out;
    for (const auto& [path, value] : rows)
        out += path + std::string(width + 2 - path.size(), ' ') + value + "\n";
    return out;
}

}  // namespace accsim
