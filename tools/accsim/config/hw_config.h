#pragma once
// A hardware configuration (configs/README.md), validated once from JSON (a file, --set
// overrides, --acc) into immutable specs. The effective config is echoed into every report.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>
#include "datapath/enum_names.h"

#include "datapath/accumulator_spec.h"
#include "models/array_spec.h"
#include "models/energy_spec.h"
#include "models/fold_schedule.h"
#include "models/fpga_spec.h"
#include "models/gpu_spec.h"
#include "models/memory_spec.h"
#include "traces/lowering.h"

namespace accsim {

enum class Target { asic, fpga, gpu };
inline constexpr EnumName<Target> k_target_names[] = {
    {Target::asic, "asic"}, {Target::fpga, "fpga"}, {Target::gpu, "gpu"}};
inline const char* to_string(Target v) {
    return name_of(k_target_names, v);
}

// How cycles are counted: accsim's own model, or SCALE-Sim v2's conventions (see
// models/fold_schedule.h), and which memory effects stall the array.
struct TimingSpec {
    TimingConvention convention = TimingConvention::native;
    bool dram_stalls = true;
    bool sram_limits = true;
};

struct HwConfig {
    std::string name;
    // Absent only for audit-only configs built from --acc without a file.
    std::optional<Target> target;
    std::optional<double> clock_mhz;
    std::optional<ArraySpec> array;
    std::optional<MemorySpec> memory;  // required by run, not by audit
    std::optional<EnergySpec> energy;  // absent: run reports no energy (null)
    std::optional<FpgaSpec> fpga;      // FPGA targets: device, datapath style, resource power
    std::optional<GpuSpec> gpu;        // GPU targets: how many SMs like the modelled one
    TimingSpec timing;
    KOrder k_order = KOrder::c_kh_kw;
    AccumulatorSpec accumulator;
    nlohmann::ordered_json effective;  // every field, defaults filled in, in a readable order
};

struct ConfigSources {
    std::optional<std::string> file;  // --config
    std::vector<std::string> sets;    // --set, in order
    std::optional<std::string> acc;   // --acc
};

// Throws InputError naming the file, or "--set" / "--acc" for fields those overrode.
HwConfig load_config(const ConfigSources& sources);

// The parts of a config that are validated without a file: used by load_config and tests.
HwConfig parse_config(const nlohmann::json& doc, const std::string& file, bool hardware_required);

}  // namespace accsim
