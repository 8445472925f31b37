#pragma once
// A layer's (or a run's) energy by component, in pJ. ASIC, GPU and FPGA cost models all fill
// this one shape, so reports and plots compare them directly.
#include <optional>
#include <vector>

namespace accsim {

struct EnergyBreakdown {
    double multiply = 0;
    std::vector<double> stages;  // additions and register writes, per accumulator stage
    double transfers = 0;        // partial sums handed from one stage to the next
    double sram_ifmap = 0, sram_filter = 0, sram_ofmap = 0;
    double dram = 0;
    double leakage = 0;                // static power x time
    std::optional<double> control;     // FPGA: control logic and routing overhead
    std::optional<double> thresholds;  // FPGA: threshold memories and comparators

    double total() const {
        double t = multiply + transfers + sram_ifmap + sram_filter + sram_ofmap + dram + leakage;
        for (double s : stages) t += s;
        return t + control.value_or(0) + thresholds.value_or(0);
    }
    void add(const EnergyBreakdown& o) {
        multiply += o.multiply;
        if (stages.size() < o.stages.size()) stages.resize(o.stages.size(), 0);
        for (std::size_t j = 0; j < o.stages.size(); ++j) stages[j] += o.stages[j];
        transfers += o.transfers;
        sram_ifmap += o.sram_ifmap;
        sram_filter += o.sram_filter;
        sram_ofmap += o.sram_ofmap;
        dram += o.dram;
        leakage += o.leakage;
        if (o.control) control = control.value_or(0) + *o.control;
        if (o.thresholds) thresholds = thresholds.value_or(0) + *o.thresholds;
    }
};

}  // namespace accsim
