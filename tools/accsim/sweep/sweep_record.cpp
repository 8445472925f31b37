#include "sweep/sweep_record.h"

#include <algorithm>

namespace accsim {

using Json = nlohmann::ordered_json;

namespace {

Json null_or(const Json& j, const char* key) {
    return j.is_object() && j.contains(key) ? j[key] : Json();
}

}  // namespace

// The swept values of a point, as its record carries them.
Json point_values(const SweepPoint& p) {
    Json values = Json::object();
    if (p.acc) values["acc"] = *p.acc;
    for (const auto& [path, value] : p.sets) values[path] = value;
    return values;
}

// The compact record of one point, from the report `accsim run` (or audit) would write.
Json point_record(std::size_t index, const SweepPoint& p, const HwConfig& config,
                  const Json& report, const std::vector<std::string>& replay, int simulated) {
    const Json values = point_values(p);
    Json stage_bits = Json::array();
    for (const StageSpec& s : config.accumulator.stages) stage_bits.push_back(s.bits);

    Json layers = Json::array();
    double max_err = 0, max_err_real = 0;
    // Float datapaths: the largest relative error and the swamped terms over the layers.
    bool floating = false;
    double max_rel = 0;
    uint64_t swamped = 0;
    bool real_known = true;  // every layer has its error in real units
    const Json& rl = report["layers"];
    for (std::size_t i = 0; i < rl.size(); ++i) {
        const Json& l = rl[i];
        const Json& ov = l["overflow"];
        Json stages = Json::array();
        const Json& b = l["bounds"];  // null for float-replayed layers
        if (b.is_object())
            for (const Json& s : b["stages"])
                stages.push_back({{"bits", s["bits"]},
                                  {"exact_bits", s["exact_bits"]},
                                  {"observed_bits", s["observed_bits"]}});
        if (ov["max_abs_error"].is_number())
            max_err = std::max(max_err, ov["max_abs_error"].get<double>());
        if (ov["max_abs_error_real"].is_number())
            max_err_real = std::max(max_err_real, ov["max_abs_error_real"].get<double>());
        else
            real_known = false;
        layers.push_back({{"name", l["name"]},
                          {"status", l["status"]},
                          {"events", ov["events"]},
                          {"outputs_with_events", ov["outputs_with_events"]},
                          {"outputs_corrupted", ov["outputs_corrupted"]},
                          {"max_abs_error", ov["max_abs_error"]},
                          {"max_abs_error_real", ov["max_abs_error_real"]},
                          {"exact_bits", null_or(b, "exact_bits_with_bias")},
                          {"observed_bits", null_or(b, "observed_bits")},
                          {"stages", stages},
                          {"cycles", null_or(l["cycles"], "total")},
                          {"energy_pj", null_or(l["energy_pj"], "total")},
                          {"power_mw", l.contains("power_mw") ? l["power_mw"] : Json()},
                          {"replay", replay[i]}});
        if (l.contains("float")) {
            const Json& f = l["float"];
            floating = true;
            max_rel = std::max(max_rel, f["max_rel_error"].get<double>());
            swamped += f["swamped"].get<uint64_t>();
            layers.back()["float"] = {{"max_rel_error", f["max_rel_error"]},
                                      {"mean_rel_error", f["mean_rel_error"]},
                                      {"max_ulp_error_fp32", f["max_ulp_error_fp32"]},
                                      {"swamped", f["swamped"]},
                                      {"infinities", f["infinities"]},
                                      {"nans", f["nans"]}};
        }
    }
    const Json& t = report["totals"];
    Json fpga;
    if (report.contains("fpga") && report["fpga"].is_object()) {
        const Json& f = report["fpga"];
        fpga = {{"lut", f["resources"]["lut"]},   {"ff", f["resources"]["ff"]},
                {"dsp", f["resources"]["dsp"]},   {"bram18", f["resources"]["bram18"]},
                {"uram", f["resources"]["uram"]}, {"fits", f["fits"]}};
    }
    Json record = {
        {"index", index},
        {"values", values},
        {"accumulator", config.accumulator.describe()},
        {"stage_bits", stage_bits},
        {"totals",
         {{"events", t["overflow"]["events"]},
          {"outputs_with_events", t["overflow"]["outputs_with_events"]},
          {"outputs_corrupted", t["overflow"]["outputs_corrupted"]},
          {"max_abs_error", max_err},
          {"max_abs_error_real", real_known ? Json(max_err_real) : Json()},
          {"layers_at_risk", t["layers_at_risk"]},
          {"exact_bits", t["bounds"]["exact_bits"]},
          {"observed_bits", t["bounds"]["observed_bits"]},
          {"cycles", null_or(t, "cycles")},
          {"energy_pj", null_or(t, "energy_pj")},
          {"power_mw", null_or(t, "power_mw")},
          {"fpga", fpga}}},
        {"layers", layers},
        {"replays",
         {{"simulated", simulated}, {"derived", static_cast<int>(rl.size()) - simulated}}}};
    if (floating) {
        record["totals"]["max_rel_error"] = max_rel;
        record["totals"]["swamped"] = swamped;
    }
    return record;
}

}  // namespace accsim
