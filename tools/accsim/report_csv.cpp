// layers.csv: one row per layer, a flat rendering of report.json's layers (null -> empty cell).
#include <sstream>

#include "report.h"

namespace accsim {
namespace {

std::string cell(const nlohmann::ordered_json& v) {
    if (v.is_null()) return "";
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        if (s.find_first_of(",\"\n") == std::string::npos) return s;
        std::string q = "\"";
        for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
    }
    return v.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

std::string render_csv(const nlohmann::ordered_json& report) {
    const std::size_t n_stages = report["config"]["accumulator"]["stages"].size();
    std::vector<std::string> header = {
        "name", "op", "dot_length", "outputs", "macs", "output_verified", "status", "events"};
    for (std::size_t j = 1; j <= n_stages; ++j)
        header.push_back("events_stage" + std::to_string(j));
    for (const char* h : {"outputs_with_events", "outputs_corrupted", "transient_outputs",
                          "max_abs_error", "mean_abs_error", "max_abs_error_real",
                          "mean_abs_error_real", "datatype_bits", "a2q_bits", "a2q_plus_bits",
                          "exact_bits", "observed_bits", "channels", "channels_at_risk"})
        header.push_back(h);
    for (std::size_t j = 1; j <= n_stages; ++j)
        for (const char* h : {"bits", "exact_bits", "observed_bits", "tiles", "tiles_at_risk"})
            header.push_back("stage" + std::to_string(j) + "_" + h);
    for (const char* h : {"cycles_total", "cycles_compute", "cycles_stall", "energy_pj_total"})
        header.push_back(h);

    std::ostringstream out;
    for (std::size_t i = 0; i < header.size(); ++i) out << (i ? "," : "") << header[i];
    out << "\n";
    for (const nlohmann::ordered_json& l : report["layers"]) {
        const nlohmann::ordered_json& ov = l["overflow"];
        const nlohmann::ordered_json& b = l["bounds"];
        std::vector<nlohmann::ordered_json> row = {l["name"],    l["op"],     l["dot_length"],
                                                   l["outputs"], l["macs"],   l["output_verified"],
                                                   l["status"],  ov["events"]};
        for (const auto& e : ov["events_by_stage"]) row.push_back(e);
        for (const char* k :
             {"outputs_with_events", "outputs_corrupted", "transient_outputs", "max_abs_error",
              "mean_abs_error", "max_abs_error_real", "mean_abs_error_real"})
            row.push_back(ov[k]);
        for (const char* k : {"datatype_bits", "a2q_bits", "a2q_plus_bits", "exact_bits",
                              "observed_bits", "channels", "channels_at_risk"})
            row.push_back(b[k]);
        for (const auto& s : b["stages"])
            for (const char* k : {"bits", "exact_bits", "observed_bits", "tiles", "tiles_at_risk"})
                row.push_back(s[k]);
        const nlohmann::ordered_json& cy = l["cycles"];
        for (const char* k : {"total", "compute", "stall"})
            row.push_back(cy.is_null() ? nullptr : cy[k]);
        row.push_back(l["energy_pj"].is_null() ? nullptr : l["energy_pj"]["total"]);
        for (std::size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << cell(row[i]);
        out << "\n";
    }
    return out.str();
}

}  // namespace accsim
