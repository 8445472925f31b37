#pragma once
// The per-action energy table of a configuration (Timeloop/Accelergy style): what one multiply,
// one addition, one register bit, one SRAM or DRAM byte costs, and how the cost scales with
// width. Every number is config data (configs/README.md gives the sources); this file only
// says how they combine. Parsed and validated once by the config loader.
#include <utility>
#include <vector>
#include "datapath/enum_names.h"

namespace accsim {

// How an operation's energy grows with its operands' widths, relative to a reference width.
enum class WidthScaling {
    constant,   // the same at every width
    linear,     // adders, registers: ~ bits (multiplier: ~ a + b)
    quadratic,  // array multipliers: ~ max(a, b)^2
    product,    // multipliers: ~ a * b (Timeloop's fallback (a/16)(b/16))
};
inline constexpr EnumName<WidthScaling> k_width_scaling_names[] = {
    {WidthScaling::constant, "constant"},
    {WidthScaling::linear, "linear"},
    {WidthScaling::quadratic, "quadratic"},
    {WidthScaling::product, "product"}};
inline const char* to_string(WidthScaling v) {
    return name_of(k_width_scaling_names, v);
}

struct MultiplyEnergy {
    double pj = 0;               // one multiply at the reference widths
    int a_bits = 8, b_bits = 8;  // reference widths (input, weight)
    WidthScaling scaling = WidthScaling::product;
    double at(int a, int b) const;  // pJ for an a-bit x b-bit multiply
};

struct AddEnergy {
    double pj = 0;  // one addition at the reference width
    int bits = 8;
    WidthScaling scaling = WidthScaling::linear;
    double at(int bits) const;  // pJ for one addition into a `bits`-wide register
};

// A multiply with a zero operand can be gated (its inputs held, its clock stopped): it then costs
// this fraction of a full one, and so does the addition of its zero product into stage 1. The
// hardware looks at one operand or either (Eyeriss gates on zero activations).
enum class GatedOperand { either, input, weight };
inline constexpr EnumName<GatedOperand> k_gated_operand_names[] = {
    {GatedOperand::either, "either"},
    {GatedOperand::input, "input"},
    {GatedOperand::weight, "weight"}};
inline const char* to_string(GatedOperand v) {
    return name_of(k_gated_operand_names, v);
}

struct ZeroGating {
    GatedOperand operand = GatedOperand::either;
    double multiply = 1;  // 1: no gating (a zero product costs a full multiply)
    double add = 1;
};

// SRAM energy by capacity: points (KiB, pJ per 64-bit access), interpolated log-log
// (Horowitz's 8 KB / 32 KB / 1 MB figures grow about as the square root of the size).
struct SramEnergy {
    std::vector<std::pair<double, double>> kib_pj_per_64b;  // sorted by size, sizes distinct
    double write_factor = 1;                                // a write costs this many reads
    double pj_per_byte(double size_kb) const;               // one byte read from this buffer
};

struct EnergySpec {
    // ASIC and GPU: the datapath's actions. (An FPGA prices its datapath from its resources,
    // models/fpga_spec.h; its energy table has only DRAM.)
    bool datapath = true;
    MultiplyEnergy multiply;
    AddEnergy add;
    double register_pj_per_bit = 0;  // one bit written into a stage register or passed on
    ZeroGating zero_gating;
    SramEnergy sram;
    double dram_pj_per_bit = 0;
    double static_mw = 0;  // leakage of the whole design, mW, charged over every cycle
};

}  // namespace accsim
