#pragma once
// An FPGA target: the device (capacities, static power), how the datapath is built (LUT or DSP
// multipliers, where weights live, optional threshold activations) and what each resource
// costs in dynamic power. Config data throughout (configs/README.md gives the sources).
#include <optional>
#include <string>
#include "datapath/enum_names.h"

namespace accsim {

struct FpgaCount {
    double lut = 0, ff = 0, dsp = 0, bram18 = 0, uram = 0;
    void add(const FpgaCount& o) {
        lut += o.lut;
        ff += o.ff;
        dsp += o.dsp;
        bram18 += o.bram18;
        uram += o.uram;
    }
};

struct FpgaDevice {
    std::string name;
    FpgaCount capacity;    // LUTs, flip-flops, DSP slices, 18 Kb block RAMs, UltraRAMs
    double static_mw = 0;  // device leakage
};

enum class MultiplierStyle { lut, dsp };
enum class WeightMemory { bram, uram, lutram };
inline constexpr EnumName<MultiplierStyle> k_multiplier_style_names[] = {
    {MultiplierStyle::lut, "lut"}, {MultiplierStyle::dsp, "dsp"}};
inline const char* to_string(MultiplierStyle v) {
    return name_of(k_multiplier_style_names, v);
}
inline constexpr EnumName<WeightMemory> k_weight_memory_names[] = {
    {WeightMemory::bram, "bram"}, {WeightMemory::uram, "uram"}, {WeightMemory::lutram, "lutram"}};
inline const char* to_string(WeightMemory v) {
    return name_of(k_weight_memory_names, v);
}

// FINN's multi-threshold activation after the accumulator: 2^B - 1 thresholds per output
// channel, each as wide as the accumulator, held in LUTRAM (`depth` channels per PE or column).
struct ThresholdSpec {
    int output_bits = 4;
    int64_t depth = 1;
};

// Dynamic power per resource at 100 % activity, uW per MHz (= pJ per cycle). Logic is charged at
// `toggle_rate` of its busy cycles; a block RAM per cycle its port is enabled.
struct FpgaPower {
    double toggle_rate = 0.125;
    double lut_uw_per_mhz = 0, ff_uw_per_mhz = 0, dsp_uw_per_mhz = 0;
    double bram18_uw_per_mhz = 0, uram_uw_per_mhz = 0;
};

struct FpgaSpec {
    FpgaDevice device;
    MultiplierStyle multipliers = MultiplierStyle::lut;
    WeightMemory weights = WeightMemory::bram;
    std::optional<ThresholdSpec> thresholds;
    FpgaPower power;
};

}  // namespace accsim
