// The terminal summary: one line per layer, the bounds next to the configured widths, and a
// status word that says whether the layer is safe.
#include <iomanip>
#include <sstream>

#include "report.h"

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
        acc += num(s["bits"]) + (s["overflow"] == "wrap" ? ":wrap" : ":sat");
        if (s["reduction"] == "tree") acc += ":tree";
    }
    const bool multi = cfg["accumulator"]["stages"].size() > 1;

    std::vector<std::vector<std::string>> rows;
    rows.push_back({"layer", "op", "K", "outputs", "events", "corrupted", "max err", "datatype",
                    "a2q", "a2q+", "exact", "observed", "acc bits", "status"});
    for (const auto& l : report["layers"]) {
        const auto& ov = l["overflow"];
        const auto& b = l["bounds"];
        rows.push_back({l["name"].get<std::string>(), l["op"].get<std::string>(),
                        num(l["dot_length"]), num(l["outputs"]), num(ov["events"]),
                        num(ov["outputs_corrupted"]), num(ov["max_abs_error"]),
                        num(b["datatype_bits"]), num(b["a2q_bits"]), num(b["a2q_plus_bits"]),
                        multi ? per_stage(b["stages"], "exact_bits") : num(b["exact_bits"]),
                        multi ? per_stage(b["stages"], "observed_bits") : num(b["observed_bits"]),
                        per_stage(b["stages"], "bits"),
                        status_word(l["status"].get<std::string>())});
    }
    const auto& t = report["totals"];
    const auto& tb = t["bounds"];
    rows.push_back({"total", "", "", num(t["outputs"]), num(t["overflow"]["events"]),
                    num(t["overflow"]["outputs_corrupted"]), "", num(tb["datatype_bits"]),
                    num(tb["a2q_bits"]), num(tb["a2q_plus_bits"]), num(tb["exact_bits"]),
                    num(tb["observed_bits"]), "", ""});

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
    out << "\nwidths in bits" << (multi ? ", per stage as stage1/stage2/..." : "")
        << "; the total row holds the widest layer's whole dot products.\n"
        << "safe: no input can overflow; at risk: some input could (exact bound with bias > acc "
           "bits);\n"
        << "OVERFLOW: this trace overflowed, results still right; CORRUPTED: some results are "
           "wrong.\n";
    return out.str();
}

}  // namespace accsim
