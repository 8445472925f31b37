#include "report/report_plots.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "report/html_text.h"
#include "report/report_field.h"

namespace accsim {

namespace {

using Json = nlohmann::ordered_json;
using Values = std::vector<std::optional<double>>;

std::vector<std::string> layer_names(const Json& report) {
    std::vector<std::string> names;
    if (const Json* layers = report_field(report, {"layers"}))
        for (const Json& l : *layers) names.push_back(report_string(l, {"name"}, "?"));
    return names;
}

// One value per layer at `path`; null where the layer lacks it.
Values per_layer(const Json& report, std::initializer_list<const char*> path) {
    Values out;
    if (const Json* layers = report_field(report, {"layers"}))
        for (const Json& l : *layers) out.push_back(report_number(l, path));
    return out;
}

bool any(const Values& v) {
    return std::any_of(v.begin(), v.end(), [](const auto& x) { return x.has_value(); });
}

double sum(const Values& v) {
    double s = 0;
    for (const auto& x : v) s += x.value_or(0);
    return s;
}

std::size_t count_positive(const Values& v) {
    return std::count_if(v.begin(), v.end(), [](const auto& x) { return x && *x > 0; });
}

ReportPlot overflow_plot(const Json& report) {
    ReportPlot p{"overflow", "Overflow events and corrupted outputs per layer", "", std::nullopt};
    const Values events = per_layer(report, {"overflow", "events"});
    const Values corrupted = per_layer(report, {"overflow", "outputs_corrupted"});
    if (!any(events) && !any(corrupted)) {
        p.caption = "No overflow figures: this report has no values (a timing-only run).";
        return p;
    }
    BarChart c("count per layer (log scale; an empty row is zero)", layer_names(report));
    c.set_log_scale(true);
    c.add_series("overflow events", events, "#E69F00");
    c.add_series("outputs corrupted", corrupted, "#D55E00");
    p.chart = std::move(c);
    const double e = sum(events), k = sum(corrupted);
    p.caption = e == 0 ? "No overflow event on this trace: every row is empty."
                       : format_count(e) + " overflow events in " +
                             format_count(count_positive(events)) + " layers; " + format_count(k) +
                             " outputs corrupted (final value wrong).";
    return p;
}

ReportPlot bounds_plot(const Json& report) {
    ReportPlot p{"bounds", "Accumulator bounds per layer against the configured width", "",
                 std::nullopt};
    static const std::pair<const char*, const char*> k_bounds[] = {{"datatype_bits", "datatype"},
                                                                   {"a2q_bits", "a2q"},
                                                                   {"exact_bits", "exact"},
                                                                   {"observed_bits", "observed"}};
    static const char* const k_colors[] = {"#9CA3AF", "#56B4E9", "#0072B2", "#009E73"};
    std::vector<Values> series;
    bool has = false;
    for (const auto& [key, label] : k_bounds) {
        series.push_back(per_layer(report, {"bounds", key}));
        has = has || any(series.back());
    }
    if (!has) {
        p.caption = "No bounds: this report has no values (a timing-only run).";
        return p;
    }
    BarChart c("bits", layer_names(report));
    for (std::size_t i = 0; i < series.size(); ++i)
        c.add_series(k_bounds[i].second, series[i], k_colors[i]);
    // Only the last stage's register holds the whole sum these bars measure; earlier stages see
    // tiles, whose bounds are in the table.
    std::string width;
    if (const Json* stages = report_field(report, {"config", "accumulator", "stages"})) {
        const std::size_t n = stages->size();
        if (n > 0)
            if (const std::optional<double> bits = report_number((*stages)[n - 1], {"bits"})) {
                width = (n == 1 ? std::string("accumulator") : "stage " + std::to_string(n)) +
                        ": " + format_count(*bits) + " bits";
                c.add_line(*bits, width, "#B91C1C");
            }
    }
    p.chart = std::move(c);
    p.caption =
        "Bits needed for the whole dot product (bias excluded): datatype (worst case of the "
        "formats), a2q (from the weights' L1 norm), exact (the narrowest safe for every input) "
        "and observed (what this trace reached); a2q is absent for matmul layers." +
        (width.empty() ? std::string()
                       : " The dashed line is the register that holds the whole sum (" + width +
                             "): an exact bar past it means some input overflows it.") +
        " Earlier stages only see tiles: their tile bounds, and the bounds with the bias, are in "
        "the table.";
    return p;
}

ReportPlot cycles_plot(const Json& report) {
    ReportPlot p{"cycles", "Cycles per layer", "", std::nullopt};
    const Values compute = per_layer(report, {"cycles", "compute"});
    const Values stall = per_layer(report, {"cycles", "stall"});
    if (!any(compute) && !any(stall)) {
        p.caption = "No cycles: an audit replays the arithmetic only (use accsim run for timing).";
        return p;
    }
    // Stalls split by cause where the causes add up to the total.
    const Values dram = per_layer(report, {"cycles", "dram_stall"});
    const Values sram = per_layer(report, {"cycles", "sram_stall"});
    bool split = any(dram) || any(sram);
    for (std::size_t i = 0; split && i < stall.size(); ++i)
        split = stall[i].value_or(0) == dram[i].value_or(0) + sram[i].value_or(0);
    BarChart c("cycles", layer_names(report));
    c.set_stacked(true);
    c.add_series("compute", compute, "#0072B2");
    if (split) {
        c.add_series("DRAM stall", dram, "#D55E00");
        c.add_series("SRAM stall", sram, "#E69F00");
    } else {
        c.add_series("stall", stall, "#D55E00");
    }
    p.chart = std::move(c);
    const double total = sum(compute) + sum(stall);
    p.caption = format_count(total) + " cycles, " +
                (total > 0 ? format_number(100 * sum(stall) / total, 3) : std::string("0")) +
                " % of them stalled.";
    return p;
}

// The same colour for a component in every report: greens for the accumulator stages, ambers
// for on-chip buffers, red for DRAM, grey for leakage.
std::string energy_color(const std::string& label) {
    static const std::pair<const char*, const char*> k_colors[] = {
        {"multiply", "#0072B2"},   {"stage 1", "#009E73"},     {"stage 2", "#66C2A5"},
        {"stage 3", "#1B7837"},    {"stage 4", "#A6DBA0"},     {"transfers", "#CC79A7"},
        {"SRAM ifmap", "#E69F00"}, {"SRAM filter", "#F5C15C"}, {"SRAM ofmap", "#B8860B"},
        {"DRAM", "#D55E00"},       {"static", "#7F7F7F"},      {"control", "#8C564B"},
        {"thresholds", "#9467BD"}};
    for (const auto& [l, c] : k_colors)
        if (label == l) return c;
    return "";  // the chart's palette
}

ReportPlot energy_plot(const Json& report) {
    ReportPlot p{"energy", "Energy per layer by component", "", std::nullopt};
    std::vector<std::string> labels;  // in order of first appearance
    std::vector<std::vector<EnergyPart>> rows;
    double largest = 0;
    bool has_energy = false;
    if (const Json* layers = report_field(report, {"layers"}))
        for (const Json& l : *layers) {
            const Json* e = report_field(l, {"energy_pj"});
            rows.push_back(e ? energy_parts(*e) : std::vector<EnergyPart>{});
            double layer_sum = 0;
            has_energy = has_energy || e != nullptr;
            for (const EnergyPart& part : rows.back()) {
                if (!part.pj) continue;
                layer_sum += *part.pj;
                // A component that is zero everywhere (no thresholds on this array) would only
                // add a legend entry without a bar.
                if (*part.pj != 0 &&
                    std::find(labels.begin(), labels.end(), part.label) == labels.end())
                    labels.push_back(part.label);
            }
            largest = std::max(
                {largest, layer_sum, report_number(l, {"energy_pj", "total"}).value_or(0)});
        }
    if (!has_energy) {
        p.caption = report_string(report, {"command"}) == "audit"
                        ? "No energy: an audit replays the arithmetic only (use accsim run)."
                        : "No energy: the configuration has no energy table.";
        return p;
    }
    const EnergyUnit unit = energy_unit(largest);
    BarChart c(std::string("energy (") + unit.name + ")", layer_names(report));
    c.set_stacked(true);
    for (const std::string& label : labels) {
        Values v;
        for (const auto& row : rows) {
            std::optional<double> x;
            for (const EnergyPart& part : row)
                if (part.label == label && part.pj) x = *part.pj / unit.per_pj;
            v.push_back(x);
        }
        c.add_series(label, v, energy_color(label));
    }
    p.chart = std::move(c);
    if (const auto total = report_number(report, {"totals", "energy_pj"}))
        p.caption = "Total " + format_energy_pj(*total) + ".";
    p.caption += " Components that are absent or zero in every layer are not drawn.";
    return p;
}

}  // namespace

std::vector<ReportPlot> report_plots(const Json& report) {
    return {overflow_plot(report), bounds_plot(report), cycles_plot(report), energy_plot(report)};
}

std::vector<EnergyPart> energy_parts(const Json& energy) {
    static const std::pair<const char*, const char*> k_names[] = {
        {"dram", "DRAM"}, {"sram", "SRAM"}, {"stages", "stage"}};
    auto name_of = [](const std::string& key) {
        for (const auto& [k, n] : k_names)
            if (key == k) return std::string(n);
        return key;
    };
    std::vector<EnergyPart> parts;
    if (!energy.is_object()) return parts;
    auto value = [](const Json& v) {
        return v.is_number() ? std::optional<double>(v.get<double>()) : std::nullopt;
    };
    for (const auto& [key, v] : energy.items()) {
        if (key == "total") continue;
        const std::string name = name_of(key);
        if (v.is_array()) {
            for (std::size_t i = 0; i < v.size(); ++i)
                parts.push_back({name + " " + std::to_string(i + 1), value(v[i])});
        } else if (v.is_object()) {
            for (const auto& [sub, x] : v.items()) parts.push_back({name + " " + sub, value(x)});
        } else {
            parts.push_back({name, value(v)});
        }
    }
    return parts;
}

std::vector<std::string> fpga_resource_keys(const Json& fpga) {
    std::vector<std::string> keys;
    if (const Json* r = report_field(fpga, {"resources"}))
        for (const auto& [key, v] : r->items())
            if (v.is_number()) keys.push_back(key);
    return keys;
}

std::string fpga_resource_label(const std::string& key) {
    std::string out = key;
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::optional<ReportPlot> fpga_plot(const Json& report) {
    const Json* fpga = report_field(report, {"fpga"});
    if (!fpga) return std::nullopt;
    ReportPlot p{"fpga-resources", "Resources against the device", "", std::nullopt};
    std::vector<std::string> names;
    Values within, over;
    for (const std::string& key : fpga_resource_keys(*fpga)) {
        const double used = report_number(*fpga, {"resources", key.c_str()}).value_or(0);
        const std::optional<double> cap = report_number(*fpga, {"device", key.c_str()});
        std::string name = fpga_resource_label(key) + " " + format_count(used);
        if (cap) name += " / " + format_count(*cap);
        names.push_back(name);
        // A resource the device lacks and the design uses counts as entirely over.
        double u = cap && *cap > 0 ? used / *cap : used > 0 ? 2.0 : 0.0;
        if (const auto given = report_number(*fpga, {"utilization", key.c_str()})) u = *given;
        within.push_back(100 * std::min(u, 1.0));
        over.push_back(100 * std::max(u - 1, 0.0));
    }
    BarChart c("utilization of the device (%)", names);
    c.set_stacked(true);
    c.add_series("within capacity", within, "#0072B2");
    const bool overflows =
        std::any_of(over.begin(), over.end(), [](const auto& v) { return v && *v > 0; });
    if (overflows) c.add_series("over capacity", over, "#DC2626");
    c.add_line(100, "device capacity", "#111827");
    p.chart = std::move(c);
    p.caption = overflows
                    ? "Used / available per resource; the red part is over the device's capacity."
                    : "Used / available per resource.";
    return p;
}

}  // namespace accsim
