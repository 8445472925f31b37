// The terminal summary: one line per layer, the bounds next to the configured widths, and a
// status word that says whether the layer is safe.
#include <iomanip>
#include <sstream>

#include "report/report_table.h"

namespace accsim {
namespace {

std::string num(const nlohmann::ordered_json& v) {
    if (v.is_null()) return "-";
    if (v.is_number_float()) {
        std::ostringstream s;
        s << std::setprecision(4) << v.get<double>();
        return s.str();
    }
    return v.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// "14/20" from a per-stage field.
std::string per_stage(const nlohmann::ordered_json& stages, const char* key) {
    std::string out;
    for (const auto& s : stages) out += (out.empty() ? "" : "/") + num(s[key]);
    return out;
}

std::string fixed(const nlohmann::ordered_json& v, int digits) {
    if (v.is_null()) return "-";
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << v.get<double>();
    return s.str();
}

// pJ as uJ.
std::string micro(const nlohmann::ordered_json& v) {
    return v.is_null() ? "-" : fixed(nlohmann::ordered_json(v.get<double>() / 1e6), 3);
}

std::string status_word(const std::string& s) {
    if (s == "corrupted") return "CORRUPTED";
    if (s == "overflow") return "OVERFLOW";
    if (s == "at_risk") return "at risk";
    return s;
}

}  // namespace

std::string render_table(const nlohmann::ordered_json& report) {
    const nlohmann::ordered_json& cfg = report["config"];
    std::string acc;
    for (const auto& s : cfg["accumulator"]["stages"]) {
        if (!acc.empty()) acc += ",";
        if (s.contains("length")) acc += num(s["length"]) + "x";
        if (s.value("kind", "int") == "float") {
            acc += "e" + num(s["exponent_bits"]) + "m" + num(s["mantissa_bits"]);
            if (s["group"] != 1) acc += ":g" + num(s["group"]);
            if (!s["fraction_bits"].is_null()) acc += ":f" + num(s["fraction_bits"]);
            acc += ":" + s["rounding"].get<std::string>();
            continue;
        }
        acc += num(s["bits"]) + (s["overflow"] == "wrap" ? ":wrap" : ":sat");
        if (s["reduction"] == "tree") acc += ":tree";
    }
    const bool multi = cfg["accumulator"]["stages"].size() > 1;

    const auto& t = report["totals"];
    const bool audited = !t["overflow"].is_null();
    const bool timed = !t["cycles"].is_null();
    const bool priced = !t["energy_pj"].is_null();
    // A field of a possibly null section.
    auto at = [](const nlohmann::ordered_json& j, const char* a, const char* b = nullptr) {
        if (j.is_null() || !j.contains(a)) return nlohmann::ordered_json(nullptr);
        const auto& v = j[a];
        return b ? (v.is_null() || !v.contains(b) ? nlohmann::ordered_json(nullptr) : v[b]) : v;
    };
    auto percent = [](const nlohmann::ordered_json& v) {
        if (v.is_null()) return std::string("-");
        std::ostringstream s;
        s << std::fixed << std::setprecision(1) << 100.0 * v.get<double>();
        return s.str();
    };

    // Float datapaths (any layer with a "float" section) show error figures, not integer widths.
    bool floating = false;
    for (const auto& l : report["layers"]) floating = floating || l.contains("float");

    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> head = {"layer", "op", "K", "outputs"};
    if (audited && floating)
        for (const char* h : {"events", "inexact", "max rel err", "mean rel err", "ulp fp32",
                              "!= fp32 RN", "swamped", "inf/nan"})
            head.push_back(h);
    else if (audited)
        for (const char* h : {"events", "corrupted", "max err", "datatype", "a2q", "a2q+", "exact",
                              "observed", "acc bits"})
            head.push_back(h);
    if (timed)
        for (const char* h : {"cycles", "stall", "util %"}) head.push_back(h);
    if (priced)
        for (const char* h : {"energy uJ", "power mW"}) head.push_back(h);
    if (audited) head.push_back("status");
    rows.push_back(head);
    for (const auto& l : report["layers"]) {
        const auto& ov = l["overflow"];
        const auto& b = l["bounds"];
        std::vector<std::string> row = {l["name"].get<std::string>(), l["op"].get<std::string>(),
                                        num(l["dot_length"]), num(l["outputs"])};
        if (audited && floating) {
            const auto& f = l.contains("float") ? l["float"] : nlohmann::ordered_json(nullptr);
            for (const std::string& v :
                 {num(at(ov, "events")), num(at(ov, "outputs_corrupted")),
                  num(at(f, "max_rel_error")), num(at(f, "mean_rel_error")),
                  num(at(f, "max_ulp_error_fp32")), num(at(f, "not_correctly_rounded_fp32")),
                  num(at(f, "swamped")),
                  f.is_null() ? "-" : num(f["infinities"]) + "/" + num(f["nans"])})
                row.push_back(v);
        } else if (audited)
            for (const std::string& v : {num(at(ov, "events")), num(at(ov, "outputs_corrupted")),
                                         num(at(ov, "max_abs_error")), num(at(b, "datatype_bits")),
                                         num(at(b, "a2q_bits")), num(at(b, "a2q_plus_bits")),
                                         b.is_null() ? "-"
                                         : multi     ? per_stage(b["stages"], "exact_bits")
                                                     : num(b["exact_bits"]),
                                         b.is_null() ? "-"
                                         : multi     ? per_stage(b["stages"], "observed_bits")
                                                     : num(b["observed_bits"]),
                                         b.is_null() ? "-" : per_stage(b["stages"], "bits")})
                row.push_back(v);
        if (timed)
            for (const std::string& v : {num(at(l, "cycles", "total")),
                                         num(at(l, "cycles", "stall")), percent(l["utilization"])})
                row.push_back(v);
        if (priced)
            for (const std::string& v :
                 {micro(at(l, "energy_pj", "total")), fixed(l["power_mw"], 1)})
                row.push_back(v);
        if (audited)
            row.push_back(l["status"].is_null() ? "-"
                                                : status_word(l["status"].get<std::string>()));
        rows.push_back(row);
    }
    const auto& tb = t["bounds"];
    std::vector<std::string> total = {"total", "", "", num(t["outputs"])};
    if (audited && floating)
        for (const std::string& v :
             {num(t["overflow"]["events"]), num(t["overflow"]["outputs_corrupted"]), std::string(),
              std::string(), std::string(), std::string(), std::string(), std::string()})
            total.push_back(v);
    else if (audited)
        for (const std::string& v :
             {num(t["overflow"]["events"]), num(t["overflow"]["outputs_corrupted"]), std::string(),
              num(tb["datatype_bits"]), num(tb["a2q_bits"]), num(tb["a2q_plus_bits"]),
              num(tb["exact_bits"]), num(tb["observed_bits"]), std::string()})
            total.push_back(v);
    if (timed)
        for (const std::string& v :
             {num(t["cycles"]), num(t["stall_cycles"]), percent(t["utilization"])})
            total.push_back(v);
    if (priced)
        for (const std::string& v : {micro(t["energy_pj"]), fixed(t["power_mw"], 1)})
            total.push_back(v);
    if (audited) total.push_back("");
    rows.push_back(total);

    std::vector<std::size_t> width(rows[0].size(), 0);
    for (const auto& r : rows)
        for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    std::ostringstream out;
    out << "accsim " << report["command"].get<std::string>() << ": "
        << report["trace"]["model"].get<std::string>() << " ("
        << report["trace"]["path"].get<std::string>() << "), accumulator " << acc << ", bias "
        << cfg["accumulator"]["bias"].get<std::string>() << "\n\n";
    for (std::size_t r = 0; r < rows.size(); ++r) {
        if (r + 1 == rows.size()) {
            std::size_t total = 0;
            for (std::size_t w : width) total += w + 2;
            out << std::string(total - 2, '-') << "\n";
        }
        std::ostringstream line;
        for (std::size_t i = 0; i < rows[r].size(); ++i) {
            const bool left = i < 2 || i + 1 == rows[r].size();
            line << (left ? std::left : std::right) << std::setw(static_cast<int>(width[i]))
                 << rows[r][i];
            if (i + 1 < rows[r].size()) line << "  ";
        }
        std::string text = line.str();
        text.erase(text.find_last_not_of(' ') + 1);
        out << text << "\n";
    }
    if (audited && floating)
        out << "\nfloat datapath: errors against the exact result (rel: relative; ulp fp32: in "
               "fp32 "
               "ulps of the exact result);\n"
            << "!= fp32 RN: outputs other than the correctly rounded fp32 sum; swamped: non-zero "
               "terms lost to alignment;\n"
            << "events: results that overflowed to infinity; CORRUPTED: an output went infinite or "
               "NaN, inexact: rounding only.\n";
    else if (audited)
        out << "\nwidths in bits" << (multi ? ", per stage as stage1/stage2/..." : "")
            << "; the total row holds the widest layer's whole dot products.\n"
            << "safe: no input can overflow; at risk: some input could (exact bound with bias > "
               "acc bits);\n"
            << "OVERFLOW: this trace overflowed, results still right; CORRUPTED: some results are "
               "wrong.\n";
    if (timed) {
        out << (audited ? "" : "\n")
            << "cycles: total per layer (compute + stall); util: MACs / (MAC units x cycles)";
        if (!t["time_us"].is_null()) {
            std::ostringstream us;
            us << std::fixed << std::setprecision(1) << t["time_us"].get<double>();
            out << "; " << us.str() << " us in all at " << num(report["config"]["clock_mhz"])
                << " MHz";
        }
        out << ".\n";
    }
    if (priced) {
        const auto& b = t["energy_breakdown_pj"];
        std::vector<std::pair<std::string, double>> parts = {{"multiply", b["multiply"]}};
        for (std::size_t j = 0; j < b["stages"].size(); ++j)
            parts.emplace_back("stage " + std::to_string(j + 1), b["stages"][j]);
        parts.emplace_back("transfers", b["transfers"]);
        for (const char* k : {"ifmap", "filter", "ofmap"})
            parts.emplace_back(std::string(k) + " sram", b["sram"][k]);
        parts.emplace_back("dram", b["dram"]);
        parts.emplace_back("static", b["static"]);
        for (const char* k : {"control", "thresholds"})
            if (!b[k].is_null()) parts.emplace_back(k, b[k]);
        const double total = t["energy_pj"].get<double>();
        out << "energy " << micro(t["energy_pj"]) << " uJ:";
        for (const auto& [name, pj] : parts)
            if (total > 0 && pj / total >= 0.0005)
                out << " " << name << " " << fixed(nlohmann::ordered_json(100 * pj / total), 1)
                    << "%";
        out << "\n";
    }
    if (!report["fpga"].is_null()) {
        const auto& f = report["fpga"];
        out << "fpga " << f["device"]["name"].get<std::string>() << ":";
        for (const char* k : {"lut", "ff", "dsp", "bram18", "uram"})
            out << " " << k << " " << num(f["resources"][k]) << "/" << num(f["device"][k]) << " ("
                << percent(f["utilization"][k]) << "%)";
        out << (f["fits"].get<bool>() ? " - fits\n" : " - DOES NOT FIT\n");
        if (!f["fits"].get<bool>())
            for (const char* k : {"lut", "ff", "dsp", "bram18", "uram"})
                if (f["over"][k].get<double>() > 0)
                    out << "  " << k << " over by " << num(f["over"][k]) << "\n";
    }
    return out.str();
}

}  // namespace accsim
