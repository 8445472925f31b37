#pragma once
// The plots of the HTML report, each built from report.json alone: overflow per layer, bounds
// against the configured widths, cycles, energy, and an FPGA's resources against its device.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "report/bar_chart.h"

namespace accsim {

struct ReportPlot {
    std::string id;  // the HTML anchor
    std::string title;
    std::string caption;  // what the plot shows; or, without a chart, why there is none
    std::optional<BarChart> chart;
};

// Overflow, bounds, cycles and energy, always in that order; a section the report does not
// have (an audit's cycles, a timing-only run's bounds) comes without a chart.
std::vector<ReportPlot> report_plots(const nlohmann::ordered_json& report);

// Resources against the device's capacity, if the report has an "fpga" section.
std::optional<ReportPlot> fpga_plot(const nlohmann::ordered_json& report);

// The components of an "energy_pj" object in report order, flattened and labelled ("stage 2",
// "SRAM ifmap"); "total" is not one of them, null components are nullopt.
struct EnergyPart {
    std::string label;
    std::optional<double> pj;
};
std::vector<EnergyPart> energy_parts(const nlohmann::ordered_json& energy_pj);

// The resources of an "fpga" section in report order ("lut", "dsp", ...) and their display
// names ("LUT", "DSP").
std::vector<std::string> fpga_resource_keys(const nlohmann::ordered_json& fpga);
std::string fpga_resource_label(const std::string& key);

}  // namespace accsim
