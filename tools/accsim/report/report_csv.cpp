// layers.csv: one row per layer, a flat rendering of report.json's layers (null -> empty cell).
#include <sstream>

#include "report/report_csv.h"

namespace accsim {

std::string csv_cell(const nlohmann::ordered_json& v) {
    if (v.is_null()) return "";
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
        std::string q = "\"";
        for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
    }
    return v.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

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
    for (const char* h :
         {"cycles_total", "cycles_compute", "cycles_stall", "energy_pj_total", "utilization",
          "mapping_efficiency", "dram_bandwidth_bytes_per_cycle", "time_us", "dram_bytes_ifmap",
          "dram_bytes_filter", "dram_bytes_ofmap", "dram_bytes_total"})
        header.push_back(h);
    // Energy by component (appended, so earlier columns keep their places).
    header.push_back("power_mw");
    header.push_back("energy_pj_multiply");
    for (std::size_t j = 1; j <= n_stages; ++j)
        header.push_back("energy_pj_stage" + std::to_string(j));
    for (const char* h : {"energy_pj_transfers", "energy_pj_sram_ifmap", "energy_pj_sram_filter",
                          "energy_pj_sram_ofmap", "energy_pj_dram", "energy_pj_static",
                          "energy_pj_control", "energy_pj_thresholds", "zero_products"})
        header.push_back(h);
    // Float datapaths append their figures (integer reports keep their columns).
    bool floating = false;
    for (const auto& l : report["layers"]) floating = floating || l.contains("float");
    const char* const float_keys[] = {"max_rel_error",      "mean_rel_error",
                                      "max_ulp_error_fp32", "not_correctly_rounded_fp32",
                                      "inexact_outputs",    "swamped",
                                      "infinities",         "nans",
                                      "nonfinite_inputs",   "corrupted_to_nonfinite"};
    if (floating) {
        header.push_back("input_format");
        header.push_back("weight_format");
        for (const char* k : float_keys) header.push_back(std::string("float_") + k);
    }

    std::ostringstream out;
    for (std::size_t i = 0; i < header.size(); ++i) out << (i ? "," : "") << header[i];
    out << "\n";
    // A field of a section that may be null (timing-only runs have no overflow or bounds).
    auto at = [](const nlohmann::ordered_json& j, const char* key) {
        return j.is_object() && j.contains(key) ? j[key] : nlohmann::ordered_json(nullptr);
    };
    for (const nlohmann::ordered_json& l : report["layers"]) {
        const nlohmann::ordered_json& ov = l["overflow"];
        const nlohmann::ordered_json& b = l["bounds"];
        std::vector<nlohmann::ordered_json> row = {l["name"],       l["op"],
                                                   l["dot_length"], l["outputs"],
                                                   l["macs"],       l["output_verified"],
                                                   l["status"],     at(ov, "events")};
        for (std::size_t j = 0; j < n_stages; ++j) {
            const nlohmann::ordered_json e = at(ov, "events_by_stage");
            row.push_back(e.is_array() ? e[j] : nlohmann::ordered_json(nullptr));
        }
        for (const char* k :
             {"outputs_with_events", "outputs_corrupted", "transient_outputs", "max_abs_error",
              "mean_abs_error", "max_abs_error_real", "mean_abs_error_real"})
            row.push_back(at(ov, k));
        for (const char* k : {"datatype_bits", "a2q_bits", "a2q_plus_bits", "exact_bits",
                              "observed_bits", "channels", "channels_at_risk"})
            row.push_back(at(b, k));
        for (std::size_t j = 0; j < n_stages; ++j) {
            const nlohmann::ordered_json s = at(b, "stages");
            for (const char* k : {"bits", "exact_bits", "observed_bits", "tiles", "tiles_at_risk"})
                row.push_back(s.is_array() ? at(s[j], k) : nlohmann::ordered_json(nullptr));
        }
        const nlohmann::ordered_json& cy = l["cycles"];
        for (const char* k : {"total", "compute", "stall"}) row.push_back(at(cy, k));
        row.push_back(at(l["energy_pj"], "total"));
        for (const char* k :
             {"utilization", "mapping_efficiency", "dram_bandwidth_bytes_per_cycle", "time_us"})
            row.push_back(at(l, k));
        const nlohmann::ordered_json dram = at(at(l, "bytes"), "dram");
        for (const char* k : {"ifmap", "filter", "ofmap", "total"}) row.push_back(at(dram, k));
        const nlohmann::ordered_json& e = l["energy_pj"];
        row.push_back(at(l, "power_mw"));
        row.push_back(at(e, "multiply"));
        for (std::size_t j = 0; j < n_stages; ++j) {
            const nlohmann::ordered_json st = at(e, "stages");
            row.push_back(st.is_array() ? st[j] : nlohmann::ordered_json(nullptr));
        }
        row.push_back(at(e, "transfers"));
        for (const char* k : {"ifmap", "filter", "ofmap"}) row.push_back(at(at(e, "sram"), k));
        for (const char* k : {"dram", "static", "control", "thresholds"}) row.push_back(at(e, k));
        row.push_back(at(at(l, "actions"), "zero_products"));
        if (floating) {
            row.push_back(at(l, "input_format"));
            row.push_back(at(l, "weight_format"));
            for (const char* k : float_keys) row.push_back(at(at(l, "float"), k));
        }
        for (std::size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << csv_cell(row[i]);
        out << "\n";
    }
    return out.str();
}

}  // namespace accsim
