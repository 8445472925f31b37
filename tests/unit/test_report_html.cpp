// report.html: one self-contained page rendered from report.json. Reports are built by hand so
// that every case (an audit, a run with energy, an FPGA that does not fit, a timing-only run,
// a report without the newer keys) is checked without running a model.
#include <doctest/doctest.h>

#include <string>

#include "report/bar_chart.h"
#include "report/html_text.h"
#include "report/report_html.h"

using namespace accsim;
using Json = nlohmann::ordered_json;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// Nothing the page could fetch: no scheme, no src, no stylesheet link, no url() but data:.
void check_self_contained(const std::string& html) {
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(html.find("http://") == std::string::npos);
    CHECK(html.find("https://") == std::string::npos);
    CHECK(html.find("src=") == std::string::npos);
    CHECK(html.find("<link") == std::string::npos);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("@import") == std::string::npos);
    for (auto at = html.find("url("); at != std::string::npos; at = html.find("url(", at + 1))
        CHECK(html.compare(at + 4, 5, "data:") == 0);
}

// A safe conv layer of an audit; cases patch what they need.
Json base_layer() {
    return Json::parse(R"({"name": "x", "op": "conv2d", "dot_length": 27, "outputs": 254016,
        "macs": 0, "status": "safe", "at_risk": false,
        "overflow": {"events": 0, "events_by_stage": [0, 0], "outputs_with_events": 0,
                     "outputs_corrupted": 0, "max_abs_error": 0, "mean_abs_error": 0.0},
        "bounds": {"datatype_bits": 20, "a2q_bits": 19, "a2q_plus_bits": 19, "exact_bits": 19,
                   "observed_bits": 18,
                   "stages": [{"bits": 24, "exact_bits": 19, "observed_bits": 18},
                              {"bits": 32, "exact_bits": 19, "observed_bits": 18}]},
        "cycles": null, "energy_pj": null, "utilization": null, "time_us": null})");
}

// `j` with `patch` merged (RFC 7396: null deletes a key).
Json patched(Json j, const Json& patch) {
    j.merge_patch(patch);
    return j;
}

Json audit_report() {
    Json r = Json::parse(R"({"schema": "accsim-report/1",
        "tool": {"name": "accsim", "version": "0.1.0"}, "command": "audit",
        "trace": {"path": "traces/x.trace", "model": "tiny-net", "source": "by hand",
                  "layers_in_trace": 2, "layers_reported": 2},
        "config": {"name": "systolic-32x32-ws", "target": "asic", "clock_mhz": 1000,
                   "array": {"kind": "systolic", "rows": 32, "cols": 32, "dataflow": "ws"},
                   "accumulator": {"stages": [{"length": 32, "bits": 24, "overflow": "wrap"},
                                              {"bits": 32, "overflow": "saturate"}],
                                   "bias": "last"}},
        "layers": [],
        "totals": {"layers": 2, "layers_at_risk": 1, "macs": 6900000,
                   "overflow": {"events": 1234, "outputs_corrupted": 56},
                   "cycles": null, "time_us": null, "energy_pj": null, "power_mw": null}})");
    const Json base = base_layer();
    r["layers"].push_back(patched(base, {{"name", "conv0"}, {"macs", 6858432}}));
    Json matmul = patched(base, {{"name", "<b>&\"x"},
                                 {"op", "matmul"},
                                 {"macs", 41568},
                                 {"status", "corrupted"},
                                 {"overflow", {{"events", 1234}, {"outputs_corrupted", 56}}},
                                 {"bounds", {{"observed_bits", 33}}}});
    // A matmul has no static weights: no a2q or exact bound.
    for (const char* k : {"a2q_bits", "a2q_plus_bits", "exact_bits"}) matmul["bounds"][k] = nullptr;
    r["layers"].push_back(matmul);
    return r;
}

Json energy_of(double scale) {
    return {{"total", 100 * scale},
            {"multiply", 40 * scale},
            {"stages", {10 * scale, 5 * scale}},
            {"transfers", 5 * scale},
            {"sram", {{"ifmap", 10 * scale}, {"filter", 5 * scale}, {"ofmap", 5 * scale}}},
            {"dram", 15 * scale},
            {"static", 5 * scale},
            {"control", nullptr},
            {"thresholds", nullptr}};
}

Json run_report() {
    Json r = patched(audit_report(), {{"command", "run"}});
    int i = 0;
    for (Json& l : r["layers"]) {
        l["cycles"] = {{"total", 82773 + i},
                       {"compute", 15970},
                       {"stall", 66803 + i},
                       {"dram_stall", 66803},
                       {"sram_stall", i}};
        l["utilization"] = 0.0809;
        l["time_us"] = 82.773;
        l["energy_pj"] = energy_of(1e6 * (i + 1));
        l["power_mw"] = 321.5;
        ++i;
    }
    r["totals"].merge_patch({{"cycles", 165547},
                             {"time_us", 165.547},
                             {"energy_pj", 3e8},
                             {"energy_breakdown_pj", energy_of(3e6)},
                             {"power_mw", 1812.3}});
    return r;
}

}  // namespace

TEST_CASE(
    "report.html: an audit report renders as a self-contained page whose cycles and energy are "
    "notes") {
    const std::string html = render_html(audit_report());
    check_self_contained(html);
    // Overflow and bounds: two plots; an audit has no cycles or energy to draw.
    CHECK(count(html, "<svg") == 2);
    CHECK(count(html, "</svg>") == 2);
    CHECK(html.find("No cycles: an audit") != std::string::npos);
    CHECK(html.find("No energy: an audit") != std::string::npos);
    // The header: command, configuration, clock, model, totals.
    CHECK(html.find("accsim audit: tiny-net on systolic-32x32-ws") != std::string::npos);
    CHECK(html.find("1,000 MHz") != std::string::npos);
    CHECK(html.find("6,900,000") != std::string::npos);
}

TEST_CASE(
    "report.html: a layer's name is escaped in the table, the chart labels and the tooltips") {
    const std::string html = render_html(audit_report());
    CHECK(html.find("<b>&\"x") == std::string::npos);
    CHECK(html.find("<b>") == std::string::npos);
    // Table, overflow and bounds rows, each with a label and its title, and the tooltips.
    CHECK(count(html, "&lt;b&gt;&amp;&quot;x") >= 5);
}

TEST_CASE(
    "report.html: the table holds every layer's figures, with bounds wider than the register "
    "marked") {
    const std::string html = render_html(audit_report());
    CHECK(html.find(">6,858,432</td>") != std::string::npos);
    CHECK(html.find(">41,568</td>") != std::string::npos);
    CHECK(html.find(">1,234</td>") != std::string::npos);
    CHECK(html.find("class=\"st-corrupted\">corrupted</td>") != std::string::npos);
    // observed 33 bits does not fit the final 32-bit stage; 18 does.
    CHECK(html.find("class=\"n over\">33</td>") != std::string::npos);
    CHECK(html.find("class=\"n\">18</td>") != std::string::npos);
    // The matmul layer has no a2q or exact bound: a dash, not a made-up number.
    CHECK(html.find("class=\"n null\">\xE2\x80\x94</td>") != std::string::npos);
}

TEST_CASE(
    "report.html: the bounds plot draws the register that holds the whole sum, not the tiles'") {
    // Whole-dot-product bounds against stage 1 (which only sees tiles) would cry wolf.
    const std::string html = render_html(audit_report());
    CHECK(html.find("stage 1: 24 bits") == std::string::npos);
    CHECK(html.find("stage 2: 32 bits") != std::string::npos);
    CHECK(count(html, "stroke-dasharray") == 1);
}

TEST_CASE("report.html: a run report with energy draws overflow, bounds, cycles and energy") {
    const std::string html = render_html(run_report());
    check_self_contained(html);
    CHECK(count(html, "<svg") == 4);
    CHECK(html.find("No cycles") == std::string::npos);
    CHECK(html.find("No energy") == std::string::npos);
    // Energy components flattened and labelled; null components are not drawn.
    for (const char* part : {"multiply", "stage 1", "stage 2", "transfers", "SRAM ifmap",
                             "SRAM filter", "SRAM ofmap", "DRAM", "static"})
        CHECK_MESSAGE(html.find(std::string(">") + part + "</text>") != std::string::npos, part);
    CHECK(html.find(">control</text>") == std::string::npos);
    CHECK(html.find(">thresholds</text>") == std::string::npos);
    // Stalls split by cause when the causes add up.
    CHECK(html.find(">DRAM stall</text>") != std::string::npos);
    // Totals: energy, power, cycles, time in readable units.
    CHECK(html.find("300 \xC2\xB5J") != std::string::npos);
    CHECK(html.find("1.812 W") != std::string::npos);
    CHECK(html.find("165,547") != std::string::npos);
    CHECK(html.find("165.5 \xC2\xB5s") != std::string::npos);
    CHECK(html.find("Energy breakdown") != std::string::npos);
}

TEST_CASE(
    "report.html: an FPGA that does not fit says by how much, in red, next to its resource bars") {
    Json r = run_report();
    r["fpga"] = Json::parse(R"({
        "device": {"name": "xczu3eg", "lut": 70560, "ff": 141120, "dsp": 360, "bram18": 432,
                   "uram": 0},
        "resources": {"lut": 81234, "ff": 60000, "dsp": 300, "bram18": 120, "uram": 0},
        "utilization": {"lut": 1.1513, "ff": 0.4252, "dsp": 0.8333, "bram18": 0.2778,
                        "uram": 0.0},
        "fits": false, "over": {"lut": 10674, "ff": 0, "dsp": 0, "bram18": 0, "uram": 0}})");
    const std::string html = render_html(r);
    check_self_contained(html);
    CHECK(count(html, "<svg") == 5);
    CHECK(html.find("<p class=\"bad\"><strong>does not fit: LUT over by 10,674 (15.1 %)") !=
          std::string::npos);
    CHECK(html.find("LUT 81,234 / 70,560") != std::string::npos);
    CHECK(html.find("device capacity") != std::string::npos);

    r["fpga"]["fits"] = true;
    r["fpga"]["over"]["lut"] = 0;
    const std::string fits = render_html(r);
    CHECK(fits.find("does not fit") == std::string::npos);
    CHECK(fits.find("fits on the device") != std::string::npos);
}

TEST_CASE(
    "report.html: a timing-only run (no values) draws cycles and notes the missing overflow and "
    "bounds") {
    Json r = run_report();
    for (Json& l : r["layers"]) {
        l["overflow"] = nullptr;
        l["bounds"] = nullptr;
        l["status"] = nullptr;
        l["energy_pj"] = nullptr;
        l.erase("power_mw");
    }
    r["totals"]["overflow"] = nullptr;
    r["totals"].erase("energy_breakdown_pj");
    const std::string html = render_html(r);
    check_self_contained(html);
    CHECK(count(html, "<svg") == 1);
    CHECK(html.find("No overflow figures") != std::string::npos);
    CHECK(html.find("No bounds") != std::string::npos);
    CHECK(html.find("No energy: the configuration has no energy table") != std::string::npos);
}

TEST_CASE("report.html: a log-scale bar chart leaves zero empty and still draws a single event") {
    BarChart c("events (log scale)", {"a", "b", "c", "d"});
    c.set_log_scale(true);
    c.add_series("events", {0.0, 1.0, 1000.0, std::nullopt});
    const std::string svg = c.svg("events");
    CHECK(count(svg, "</title></rect>") == 2);
    CHECK(svg.find("b \xC2\xB7 events: 1</title>") != std::string::npos);
    CHECK(svg.find("c \xC2\xB7 events: 1,000</title>") != std::string::npos);
    CHECK(svg.find(">1k</text>") != std::string::npos);
}

TEST_CASE("report.html: numbers read the same everywhere: separators, significant digits, units") {
    CHECK(format_count(18608464) == "18,608,464");
    CHECK(format_count(-1234) == "-1,234");
    CHECK(format_count(999) == "999");
    CHECK(format_count(0) == "0");
    CHECK(format_number(0.0475259, 3) == "0.0475");
    CHECK(format_number(382.367, 4) == "382.4");
    CHECK(format_si(1500) == "1.5k");
    CHECK(format_si(20e6) == "20M");
    CHECK(format_energy_pj(3.42e6) == "3.42 \xC2\xB5J");
    CHECK(format_power_mw(1200) == "1.2 W");
    CHECK(format_time_us(1500) == "1.5 ms");
    CHECK(html_escape("<b>&\"x'") == "&lt;b&gt;&amp;&quot;x&#39;");
}
