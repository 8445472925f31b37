#include "report/report_html.h"

#include <functional>
#include <tuple>

#include "report/html_text.h"
#include "report/report_field.h"
#include "report/report_plots.h"

namespace accsim {

namespace {

using Json = nlohmann::ordered_json;

// This page's style, after k_page_css (html_text.h): no url(), no @import, no web fonts.
const char* const k_css = R"(
.sub, .note, figcaption, footer { color: #4b5563; }
.note { font-style: italic; }
nav a { margin-right: 14px; color: #1d4ed8; text-decoration: none; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid #e5e7eb; border-radius: 6px; padding: 6px 12px; min-width: 120px; }
.card .v { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .k { font-size: 12px; color: #4b5563; }
.card.bad .v, .bad { color: #b91c1c; }
figure { margin: 8px 0 20px; }
.scroll { overflow-x: auto; }
td.n, th.n { text-align: right; }
td.null { color: #9ca3af; }
td.over { color: #b91c1c; font-weight: 600; }
.st-corrupted { color: #fff; background: #b91c1c; }
.st-overflow { background: #fdba74; }
.st-at_risk { background: #fde68a; }
.st-safe { color: #15803d; }
)";

const char* const k_dash = "\xE2\x80\x94";  // an em dash: the value does not apply

// A scalar as text (strings unquoted), or the dash.
std::string scalar(const Json* v) {
    if (!v) return k_dash;
    if (v->is_string()) return v->get<std::string>();
    if (v->is_boolean()) return v->get<bool>() ? "yes" : "no";
    if (v->is_number_integer() || v->is_number_unsigned()) return format_count(v->get<double>());
    if (v->is_number()) return format_number(v->get<double>(), 4);
    return v->dump();
}

// "kind systolic, rows 32, cols 32, dataflow ws": every key, so a new array kind needs nothing.
std::string key_values(const Json* obj) {
    if (!obj || !obj->is_object()) return k_dash;
    std::string out;
    for (const auto& [k, v] : obj->items())
        if (!v.is_structured()) out += (out.empty() ? "" : ", ") + k + " " + scalar(&v);
    return out;
}

std::string accumulator_text(const Json& config) {
    const Json* stages = report_field(config, {"accumulator", "stages"});
    if (!stages) return k_dash;
    std::string out;
    for (std::size_t j = 0; j < stages->size(); ++j)
        out += (j ? "; " : "") + std::string("stage ") + std::to_string(j + 1) + ": " +
               key_values(&(*stages)[j]);
    if (const Json* bias = report_field(config, {"accumulator", "bias"}))
        out += "; bias " + scalar(bias);
    return out;
}

std::string facts(const Json& r) {
    const Json& cfg = r.contains("config") ? r["config"] : Json();
    std::vector<std::pair<std::string, std::string>> rows = {
        {"command", "accsim " + report_string(r, {"command"}, "?")},
        {"configuration", scalar(report_field(cfg, {"name"}))},
        {"description", scalar(report_field(cfg, {"description"}))},
        {"target", scalar(report_field(cfg, {"target"}))},
        {"clock", report_field(cfg, {"clock_mhz"})
                      ? scalar(report_field(cfg, {"clock_mhz"})) + " MHz"
                      : std::string(k_dash)},
        {"array", key_values(report_field(cfg, {"array"}))},
        {"accumulator", accumulator_text(cfg)},
        {"model", scalar(report_field(r, {"trace", "model"}))},
        {"trace", scalar(report_field(r, {"trace", "path"}))},
        {"source", scalar(report_field(r, {"trace", "source"}))},
        {"layers", scalar(report_field(r, {"trace", "layers_reported"})) + " reported of " +
                       scalar(report_field(r, {"trace", "layers_in_trace"}))},
    };
    std::string o = "<dl class=\"facts\">\n";
    for (const auto& [k, v] : rows)
        o += "<dt>" + html_escape(k) + "</dt><dd>" + html_escape(v) + "</dd>\n";
    return o + "</dl>\n";
}

std::string card(const std::string& key, const std::string& value, bool bad = false) {
    return std::string("<div class=\"card") + (bad ? " bad" : "") + "\"><div class=\"v\">" +
           html_escape(value) + "</div><div class=\"k\">" + html_escape(key) + "</div></div>\n";
}

std::string totals(const Json& r) {
    auto num = [&](std::initializer_list<const char*> path) { return report_number(r, path); };
    auto or_dash = [](const std::optional<double>& v, std::string (*f)(double)) {
        return v ? f(*v) : std::string(k_dash);
    };
    auto count = [](double v) { return format_count(v); };
    const auto events = num({"totals", "overflow", "events"});
    const auto corrupted = num({"totals", "overflow", "outputs_corrupted"});
    const auto at_risk = num({"totals", "layers_at_risk"});
    const auto util = num({"totals", "utilization"});
    std::string o = "<div class=\"cards\">\n";
    o += card("MACs", or_dash(num({"totals", "macs"}), count));
    o += card("layers", or_dash(num({"totals", "layers"}), count));
    o += card("layers at risk", or_dash(at_risk, count), at_risk.value_or(0) > 0);
    o += card("overflow events", or_dash(events, count), events.value_or(0) > 0);
    o += card("outputs corrupted", or_dash(corrupted, count), corrupted.value_or(0) > 0);
    o += card("cycles", or_dash(num({"totals", "cycles"}), count));
    o += card("time", or_dash(num({"totals", "time_us"}), format_time_us));
    o += card("energy", or_dash(num({"totals", "energy_pj"}), format_energy_pj));
    o += card("power", or_dash(num({"totals", "power_mw"}), format_power_mw));
    o += card("array utilization",
              util ? format_number(100 * *util, 3) + " %" : std::string(k_dash));
    o += card("DRAM bytes", or_dash(num({"totals", "dram_bytes"}), count));
    o += "</div>\n";

    const Json* breakdown = report_field(r, {"totals", "energy_breakdown_pj"});
    const auto total = num({"totals", "energy_pj"});
    if (breakdown) {
        o += "<h3>Energy breakdown</h3>\n<table><thead><tr><th>component</th><th "
             "class=\"n\">energy</th><th class=\"n\">share</th></tr></thead><tbody>\n";
        for (const EnergyPart& part : energy_parts(*breakdown)) {
            if (!part.pj) continue;
            const std::string share = total && *total > 0
                                          ? format_number(100 * *part.pj / *total, 3) + " %"
                                          : std::string(k_dash);
            o += "<tr><td>" + html_escape(part.label) + "</td><td class=\"n\">" +
                 format_energy_pj(*part.pj) + "</td><td class=\"n\">" + share + "</td></tr>\n";
        }
        o += "</tbody></table>\n";
    }
    return o;
}

std::string figure(const ReportPlot& p) {
    std::string o = "<section id=\"" + p.id + "\">\n<h2>" + html_escape(p.title) + "</h2>\n";
    if (!p.chart) return o + "<p class=\"note\">" + html_escape(p.caption) + "</p>\n</section>\n";
    return o + "<figure>\n" + p.chart->svg(p.title) + "<figcaption>" + html_escape(p.caption) +
           "</figcaption>\n</figure>\n</section>\n";
}

// Where the resources go, if the report breaks them down ("by_component": multiply, stages,
// buffers, each an object of resources).
std::string fpga_components(const Json& fpga) {
    const Json* by = report_field(fpga, {"by_component"});
    if (!by || !by->is_object()) return "";
    const std::vector<std::string> keys = fpga_resource_keys(fpga);
    std::vector<std::pair<std::string, const Json*>> rows;
    for (const auto& [name, v] : by->items()) {
        if (v.is_array())
            for (std::size_t i = 0; i < v.size(); ++i)
                rows.emplace_back((name == "stages" ? "stage" : name) + " " + std::to_string(i + 1),
                                  &v[i]);
        else if (v.is_object())
            rows.emplace_back(name, &v);
    }
    std::string o = "<h3>By component</h3>\n<table><thead><tr><th>component</th>";
    for (const std::string& k : keys) o += "<th class=\"n\">" + fpga_resource_label(k) + "</th>";
    o += "</tr></thead><tbody>\n";
    for (const auto& [name, v] : rows) {
        o += "<tr><td>" + html_escape(name) + "</td>";
        for (const std::string& k : keys) {
            const auto x = report_number(*v, {k.c_str()});
            o += x ? "<td class=\"n\">" + format_count(*x) + "</td>"
                   : std::string("<td class=\"n null\">") + k_dash + "</td>";
        }
        o += "</tr>\n";
    }
    return o + "</tbody></table>\n";
}

std::string fpga_block(const Json& r) {
    const std::optional<ReportPlot> plot = fpga_plot(r);
    if (!plot) return "";
    const Json& fpga = r["fpga"];
    std::string o = "<section id=\"fpga\">\n<h2>FPGA resources on " +
                    html_escape(report_string(fpga, {"device", "name"}, "the device")) + "</h2>\n";
    std::string over, busiest;
    double most = -1;
    for (const std::string& key : fpga_resource_keys(fpga)) {
        const auto used = report_number(fpga, {"resources", key.c_str()});
        const auto cap = report_number(fpga, {"device", key.c_str()});
        if (used && cap && *cap > 0 && *used / *cap > most) {
            most = *used / *cap;
            busiest = fpga_resource_label(key);
        }
        const double excess = report_number(fpga, {"over", key.c_str()}).value_or(0);
        if (excess <= 0) continue;
        over += (over.empty() ? "" : ", ") + fpga_resource_label(key) + " over by " +
                format_count(excess) +
                (cap && *cap > 0 ? " (" + format_number(100 * excess / *cap, 3) + " %)" : "");
    }
    const Json* fits = report_field(fpga, {"fits"});
    const bool does_fit = fits && fits->is_boolean() ? fits->get<bool>() : over.empty();
    if (does_fit)
        o += "<p class=\"good\"><strong>fits on the device</strong>" +
             (busiest.empty() ? std::string()
                              : ": the fullest resource is " + busiest + " at " +
                                    format_number(100 * most, 3) + " %") +
             "</p>\n";
    else
        o += "<p class=\"bad\"><strong>does not fit: " +
             html_escape(over.empty() ? "over the device's capacity" : over) + "</strong></p>\n";
    return o + "<figure>\n" + plot->chart->svg(plot->title) + "<figcaption>" +
           html_escape(plot->caption) + "</figcaption>\n</figure>\n" + fpga_components(fpga) +
           "</section>\n";
}

// One table cell: its text and an optional class.
struct Cell {
    std::string text, cls;
};
struct Column {
    const char* head;
    const char* tip;  // the header's tooltip: what the column means
    bool numeric;
    std::function<Cell(const Json&)> cell;
};

Cell count_cell(const Json& l, std::initializer_list<const char*> path) {
    const auto v = report_number(l, path);
    return v ? Cell{format_count(*v), ""} : Cell{k_dash, "null"};
}

// A bound in bits, red where it exceeds the final register (`acc_bits`).
Cell bits_cell(const Json& l, const char* key, std::optional<double> acc_bits) {
    const auto v = report_number(l, {"bounds", key});
    if (!v) return {k_dash, "null"};
    return {format_count(*v), acc_bits && *v > *acc_bits ? "over" : ""};
}

// "19/19": a per-stage bound of every stage.
Cell per_stage_cell(const Json& l, const char* key) {
    const Json* stages = report_field(l, {"bounds", "stages"});
    if (!stages || !stages->is_array()) return {k_dash, "null"};
    std::string out;
    bool over = false;
    for (const Json& s : *stages) {
        const auto v = report_number(s, {key});
        const auto bits = report_number(s, {"bits"});
        out += (out.empty() ? "" : "/") + (v ? format_count(*v) : std::string(k_dash));
        over = over || (v && bits && *v > *bits);
    }
    return {out, over ? "over" : ""};
}

std::string layer_table(const Json& r) {
    const Json* layers = report_field(r, {"layers"});
    if (!layers || layers->empty()) return "<p class=\"note\">No layers.</p>\n";
    std::optional<double> acc_bits;
    if (const Json* stages = report_field(r, {"config", "accumulator", "stages"}))
        if (!stages->empty()) acc_bits = report_number(stages->back(), {"bits"});
    bool audited = false, timed = false, energy = false, power = false, floating = false;
    for (const Json& l : *layers) {
        floating = floating || report_field(l, {"float"});
        audited = audited || report_field(l, {"overflow"}) || report_field(l, {"bounds"});
        timed = timed || report_field(l, {"cycles"});
        energy = energy || report_field(l, {"energy_pj"});
        power = power || report_field(l, {"power_mw"});
    }

    std::vector<Column> cols = {
        {"layer", "", false,
         [](const Json& l) {
             return Cell{scalar(report_field(l, {"name"})), ""};
         }},
        {"op", "", false,
         [](const Json& l) {
             return Cell{scalar(report_field(l, {"op"})), ""};
         }},
        {"K", "dot-product length", true,
         [](const Json& l) { return count_cell(l, {"dot_length"}); }},
        {"outputs", "", true, [](const Json& l) { return count_cell(l, {"outputs"}); }},
        {"MACs", "", true, [](const Json& l) { return count_cell(l, {"macs"}); }},
    };
    if (audited) {
        cols.push_back({"status", "corrupted, overflow, at_risk or safe", false, [](const Json& l) {
                            const std::string s = report_string(l, {"status"});
                            return s.empty() ? Cell{k_dash, "null"} : Cell{s, "st-" + s};
                        }});
        cols.push_back({"events", "overflow events", true, [](const Json& l) {
                            return count_cell(l, {"overflow", "events"});
                        }});
        cols.push_back({"corrupted", "outputs whose final value is wrong", true, [](const Json& l) {
                            return count_cell(l, {"overflow", "outputs_corrupted"});
                        }});
        cols.push_back({"max |err|", "largest error of an output, in accumulator units", true,
                        [](const Json& l) {
                            if (report_field(l, {"float"})) {
                                const auto v = report_number(l, {"overflow", "max_abs_error"});
                                return v ? Cell{format_number(*v, 3), ""} : Cell{k_dash, "null"};
                            }
                            return count_cell(l, {"overflow", "max_abs_error"});
                        }});
        if (floating) {
            // Float datapaths: errors against the exact (Kulisch) result.
            for (const auto& [key, head, tip] :
                 {std::tuple{"max_rel_error", "max rel err", "largest |value - exact| / |exact|"},
                  {"mean_rel_error", "mean rel err", "mean |value - exact| / |exact|"},
                  {"max_ulp_error_fp32", "ulp fp32",
                   "largest error in fp32 ulps of the exact result"},
                  {"not_correctly_rounded_fp32", "!= fp32 RN",
                   "outputs other than the exact result rounded to nearest fp32"},
                  {"swamped", "swamped", "non-zero terms lost to alignment"},
                  {"infinities", "inf", "infinite outputs"},
                  {"nans", "NaN", "NaN outputs"}}) {
                const char* k = key;
                cols.push_back(
                    {head, tip, true, [k](const Json& l) {
                         const auto v = report_number(l, {"float", k});
                         return v ? Cell{format_number(*v, 3), ""} : Cell{k_dash, "null"};
                     }});
            }
        }
        for (const auto& [key, head] : {std::pair{"datatype_bits", "datatype"},
                                        {"a2q_bits", "a2q"},
                                        {"a2q_plus_bits", "a2q+"},
                                        {"exact_bits", "exact"},
                                        {"observed_bits", "observed"}}) {
            const char* k = key;
            cols.push_back({head, "bits needed (red: wider than the final register)", true,
                            [k, acc_bits](const Json& l) { return bits_cell(l, k, acc_bits); }});
        }
        cols.push_back({"stage exact", "exact bits per stage tile (red: wider than the stage)",
                        true, [](const Json& l) { return per_stage_cell(l, "exact_bits"); }});
        cols.push_back({"stage observed", "observed bits per stage tile", true,
                        [](const Json& l) { return per_stage_cell(l, "observed_bits"); }});
    }
    if (timed) {
        cols.push_back({"cycles", "", true, [](const Json& l) {
                            return count_cell(l, {"cycles", "total"});
                        }});
        cols.push_back({"stall", "stall cycles", true, [](const Json& l) {
                            return count_cell(l, {"cycles", "stall"});
                        }});
        cols.push_back({"util %", "MACs per PE per cycle", true, [](const Json& l) {
                            const auto u = report_number(l, {"utilization"});
                            return u ? Cell{format_number(100 * *u, 3), ""} : Cell{k_dash, "null"};
                        }});
        cols.push_back({"time", "", true, [](const Json& l) {
                            const auto t = report_number(l, {"time_us"});
                            return t ? Cell{format_time_us(*t), ""} : Cell{k_dash, "null"};
                        }});
    }
    if (energy)
        cols.push_back({"energy", "", true, [](const Json& l) {
                            const auto e = report_number(l, {"energy_pj", "total"});
                            return e ? Cell{format_energy_pj(*e), ""} : Cell{k_dash, "null"};
                        }});
    if (power)
        cols.push_back({"power", "", true, [](const Json& l) {
                            const auto p = report_number(l, {"power_mw"});
                            return p ? Cell{format_power_mw(*p), ""} : Cell{k_dash, "null"};
                        }});

    std::string o = "<div class=\"scroll\"><table>\n<thead><tr>";
    for (const Column& c : cols)
        o += std::string("<th") + (c.numeric ? " class=\"n\"" : "") +
             (*c.tip ? std::string(" title=\"") + html_escape(c.tip) + "\"" : "") + ">" +
             html_escape(c.head) + "</th>";
    o += "</tr></thead>\n<tbody>\n";
    for (const Json& l : *layers) {
        o += "<tr>";
        for (const Column& c : cols) {
            const Cell cell = c.cell(l);
            std::string cls = cell.cls;
            if (c.numeric) cls = cls.empty() ? "n" : "n " + cls;
            o += (cls.empty() ? std::string("<td>") : "<td class=\"" + cls + "\">") +
                 html_escape(cell.text) + "</td>";
        }
        o += "</tr>\n";
    }
    return o + "</tbody></table></div>\n";
}

}  // namespace

std::string render_html(const Json& report) {
    const std::string model = report_string(report, {"trace", "model"}, "?");
    const std::string config = report_string(report, {"config", "name"}, "?");
    const std::string command = report_string(report, {"command"}, "report");
    const std::vector<ReportPlot> plots = report_plots(report);

    std::string o =
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>accsim " +
        html_escape(command + ": " + model + " on " + config) + "</title>\n<style>" + k_page_css +
        k_css + "</style>\n</head>\n<body>\n";
    o += "<header>\n<h1>accsim " + html_escape(command) + ": " + html_escape(model) + " on " +
         html_escape(config) + "</h1>\n<p class=\"sub\">" +
         html_escape(report_string(report, {"tool", "name"}, "accsim") + " " +
                     report_string(report, {"tool", "version"}) + ", " +
                     report_string(report, {"schema"})) +
         "</p>\n<nav><a href=\"#summary\">summary</a>";
    if (report_field(report, {"fpga"})) o += "<a href=\"#fpga\">FPGA</a>";
    for (const ReportPlot& p : plots) o += "<a href=\"#" + p.id + "\">" + p.id + "</a>";
    o += "<a href=\"#layers\">layers</a></nav>\n</header>\n";

    o += "<section id=\"summary\">\n<h2>Run</h2>\n" + facts(report) + "<h2>Totals</h2>\n" +
         totals(report) + "</section>\n";
    o += fpga_block(report);
    for (const ReportPlot& p : plots) o += figure(p);
    o += "<section id=\"layers\">\n<h2>Layers</h2>\n" + layer_table(report) + "</section>\n";
    o += "<footer><p>Rendered from report.json, which holds every figure above. "
         "Self-contained: no script, nothing fetched.</p></footer>\n</body>\n</html>\n";
    return o;
}

}  // namespace accsim
