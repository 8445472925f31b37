#include "sweep/sweep_output.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "accsim_version.h"
#include "datapath/input_error.h"
#include "report/html_text.h"
#include "report/report_csv.h"
#include "sweep/sweep_html.h"

namespace accsim {

using Json = nlohmann::ordered_json;

const std::vector<ParetoAxis>& pareto_axes() {
    static const std::vector<ParetoAxis> axes = {
        {"energy", "energy (pJ)"}, {"lut", "LUTs (FPGA)"}, {"cycles", "cycles"}};
    return axes;
}

Json pareto_cost(const Json& record, const std::string& key) {
    const Json& t = record["totals"];
    if (key == "energy") return t["energy_pj"];
    if (key == "cycles") return t["cycles"];
    if (key == "lut") return t["fpga"].is_object() ? t["fpga"]["lut"] : Json();
    return Json();
}

std::vector<bool> pareto_front(const std::vector<double>& cost, const std::vector<double>& y) {
    std::vector<std::size_t> order(cost.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return cost[a] != cost[b] ? cost[a] < cost[b] : y[a] < y[b];
    });
    // Groups of equal cost, cheapest first: a point is on the front when it has its group's
    // least y and beats every cheaper point's.
    std::vector<bool> front(cost.size(), false);
    double best_before = std::numeric_limits<double>::infinity();
    for (std::size_t g = 0; g < order.size();) {
        std::size_t e = g;
        while (e < order.size() && cost[order[e]] == cost[order[g]]) ++e;
        const double least = y[order[g]];
        for (std::size_t i = g; i < e && y[order[i]] == least; ++i)
            front[order[i]] = least < best_before;
        best_before = std::min(best_before, least);
        g = e;
    }
    return front;
}

double point_error(const Json& record) {
    const Json& t = record["totals"];
    return t["max_abs_error_real"].is_number() ? t["max_abs_error_real"].get<double>()
                                               : t["max_abs_error"].get<double>();
}

namespace {

double number(const Json& j) {
    return j.is_number() ? j.get<double>() : std::numeric_limits<double>::infinity();
}

// Marks record["pareto"][key] for every axis, and "error_energy" (the largest error against
// energy).
void mark_pareto(std::vector<Json>& records) {
    for (Json& r : records) r["pareto"] = Json::object();
    auto mark = [&](const char* key, auto cost_of, auto y_of) {
        std::vector<std::size_t> which;
        std::vector<double> cost, y;
        for (std::size_t i = 0; i < records.size(); ++i) {
            const Json c = cost_of(records[i]);
            records[i]["pareto"][key] = nullptr;
            if (!c.is_number()) continue;
            which.push_back(i);
            cost.push_back(c.get<double>());
            y.push_back(y_of(records[i]));
        }
        const std::vector<bool> front = pareto_front(cost, y);
        for (std::size_t j = 0; j < which.size(); ++j) records[which[j]]["pareto"][key] = front[j];
    };
    auto corrupted = [](const Json& r) { return r["totals"]["outputs_corrupted"].get<double>(); };
    for (const ParetoAxis& axis : pareto_axes())
        mark(
            axis.key, [&](const Json& r) { return pareto_cost(r, axis.key); }, corrupted);
    mark(
        "error_energy", [](const Json& r) { return r["totals"]["energy_pj"]; }, point_error);
}

// The narrowest point (fewest accumulator bits in all, then least energy, then first) whose
// layer `l` has no `what` (outputs_corrupted or events).
Json narrowest(const std::vector<Json>& records, std::size_t l, const char* what) {
    const Json* best = nullptr;
    for (const Json& r : records) {
        if (r["layers"][l][what].get<uint64_t>() != 0) continue;
        if (!best) {
            best = &r;
            continue;
        }
        const int64_t a = total_bits(r), b = total_bits(*best);
        const double ea = number(r["totals"]["energy_pj"]),
                     eb = number((*best)["totals"]["energy_pj"]);
        if (a < b || (a == b && ea < eb)) best = &r;
    }
    if (!best) return nullptr;
    return {{"index", (*best)["index"]},
            {"values", (*best)["values"]},
            {"accumulator", (*best)["accumulator"]},
            {"energy_pj", (*best)["totals"]["energy_pj"]}};
}

// A sweep.csv cell: as layers.csv writes them, flags as 1 and 0.
std::string csv_field(const Json& v) {
    return csv_cell(v.is_boolean() ? Json(v.get<bool>() ? 1 : 0) : v);
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::trunc);
    f << text;
    if (!f) throw InputError(path, "--out", "cannot write");
}

}  // namespace

Json build_sweep_json(Json trace, const Json& base_config, const std::vector<GridAxis>& axes,
                      const std::vector<std::string>& accs, std::vector<Json> records) {
    mark_pareto(records);
    Json grid = Json::array();
    for (const GridAxis& a : axes) grid.push_back({{"path", a.path}, {"values", a.values}});

    std::size_t points_simulated = 0;
    Json replays = {{"simulated", 0},
                    {"derived_static", 0},
                    {"derived_dominated", 0},
                    {"derived_equivalent", 0},
                    {"shared", 0}};
    for (const Json& r : records) {
        points_simulated += r["replays"]["simulated"].get<int>() > 0;
        for (const Json& l : r["layers"]) {
            const std::string k = l["replay"].get<std::string>();
            const char* key = k == "simulated"                        ? "simulated"
                              : k == "derived: static bound"          ? "derived_static"
                              : k == "derived: narrower replay clean" ? "derived_dominated"
                              : k == "derived: same replay"           ? "derived_equivalent"
                                                                      : "shared";
            replays[key] = replays[key].get<int64_t>() + 1;
        }
    }
    Json fronts = Json::object();
    std::vector<std::string> keys;
    for (const ParetoAxis& axis : pareto_axes()) keys.push_back(axis.key);
    keys.push_back("error_energy");
    for (const std::string& key : keys) {
        Json members = Json::array();
        for (const Json& r : records)
            if (r["pareto"][key] == true) members.push_back(r["index"]);
        fronts[key] = members;
    }
    Json safest = Json::array();
    if (!records.empty())
        for (std::size_t l = 0; l < records.front()["layers"].size(); ++l)
            safest.push_back({{"layer", records.front()["layers"][l]["name"]},
                              {"no_corrupted_outputs", narrowest(records, l, "outputs_corrupted")},
                              {"no_events", narrowest(records, l, "events")}});
    return {{"schema", "accsim-sweep/1"},
            {"tool", {{"name", "accsim"}, {"version", k_version}}},
            {"trace", std::move(trace)},
            {"base_config", base_config},
            {"grid", grid},
            {"acc_grid", accs},
            {"summary",
             {{"points", records.size()},
              {"points_simulated", points_simulated},
              {"points_derived", records.size() - points_simulated},
              {"layer_replays", replays}}},
            {"pareto", fronts},
            {"narrowest_safe", safest},
            {"points", std::move(records)}};
}

std::string render_sweep_csv(const Json& sweep) {
    const Json& points = sweep["points"];
    std::vector<std::string> value_keys;
    if (!sweep["acc_grid"].empty()) value_keys.push_back("acc");
    for (const Json& a : sweep["grid"]) value_keys.push_back(a["path"].get<std::string>());
    static const std::vector<std::string> totals = {"events",
                                                    "outputs_with_events",
                                                    "outputs_corrupted",
                                                    "max_abs_error",
                                                    "max_abs_error_real",
                                                    "layers_at_risk",
                                                    "exact_bits",
                                                    "observed_bits",
                                                    "cycles",
                                                    "energy_pj",
                                                    "power_mw"};
    static const std::vector<std::string> fpga = {"lut", "ff", "dsp", "bram18", "uram", "fits"};
    static const std::vector<std::string> per_layer = {
        "events", "outputs_corrupted", "max_abs_error", "exact_bits", "observed_bits",
        "cycles", "energy_pj",         "power_mw"};
    std::ostringstream s;
    s << "point";
    for (const std::string& k : value_keys) s << "," << csv_field(k);
    s << ",accumulator";
    for (const std::string& k : totals) s << "," << k;
    for (const std::string& k : fpga) s << "," << k;
    for (const ParetoAxis& a : pareto_axes()) s << ",pareto_" << a.key;
    s << ",pareto_error_energy,layers_simulated,layers_derived";
    // Float sweeps append the largest relative error and the swamped terms (integer sweeps
    // keep their columns).
    bool floating = false;
    for (const Json& p : points) floating = floating || p["totals"].contains("max_rel_error");
    if (floating) s << ",max_rel_error,swamped";
    if (!points.empty())
        for (const Json& l : points[0]["layers"])
            for (const std::string& k : per_layer)
                s << "," << csv_field(l["name"].get<std::string>() + "." + k);
    s << "\n";
    for (const Json& p : points) {
        s << p["index"].get<std::size_t>();
        for (const std::string& k : value_keys)
            s << "," << csv_field(p["values"].contains(k) ? p["values"][k] : Json());
        s << "," << csv_field(p["accumulator"]);
        for (const std::string& k : totals) s << "," << csv_field(p["totals"][k]);
        const Json& f = p["totals"]["fpga"];
        for (const std::string& k : fpga) s << "," << csv_field(f.is_object() ? f[k] : Json());
        for (const ParetoAxis& a : pareto_axes()) s << "," << csv_field(p["pareto"][a.key]);
        s << "," << csv_field(p["pareto"]["error_energy"]) << "," << p["replays"]["simulated"]
          << "," << p["replays"]["derived"];
        if (floating) {
            const Json& t = p["totals"];
            s << "," << csv_field(t.contains("max_rel_error") ? t["max_rel_error"] : Json()) << ","
              << csv_field(t.contains("swamped") ? t["swamped"] : Json());
        }
        for (const Json& l : p["layers"])
            for (const std::string& k : per_layer) s << "," << csv_field(l[k]);
        s << "\n";
    }
    return s.str();
}

std::string render_sweep_summary(const Json& sweep, std::size_t resumed, double seconds) {
    const Json& sum = sweep["summary"];
    const Json& rep = sum["layer_replays"];
    std::ostringstream s;
    s << "accsim sweep: " << sweep["trace"]["model"].get<std::string>() << ", "
      << (sweep["points"].empty() ? 0 : sweep["points"][0]["layers"].size()) << " layers, "
      << sum["points"] << " points";
    if (resumed) s << " (" << resumed << " resumed)";
    s << ", " << format_number(seconds, 3) << " s\n";
    s << "  points: " << sum["points_simulated"] << " simulated, " << sum["points_derived"]
      << " derived (no layer replayed for them)\n";
    s << "  layer replays: " << rep["simulated"] << " simulated, "
      << rep["derived_static"].get<int64_t>() + rep["derived_dominated"].get<int64_t>() +
             rep["derived_equivalent"].get<int64_t>()
      << " derived (" << rep["derived_static"] << " by the exact static bound, "
      << rep["derived_dominated"] << " by a narrower clean replay, " << rep["derived_equivalent"]
      << " the same replay: a first-stage tile at least the dot length), " << rep["shared"]
      << " shared by points with the same accumulator\n";
    for (const ParetoAxis& a : pareto_axes())
        if (!sweep["pareto"][a.key].empty())
            s << "  Pareto front, corrupted outputs vs " << a.label << ": points " <<
                [&] {
                    std::string list;
                    for (const Json& i : sweep["pareto"][a.key])
                        list += (list.empty() ? "" : ", ") + i.dump();
                    return list;
                }()
              << "\n";
    // The points, compactly.
    s << "\n  point  corrupted      events   energy        cycles   LUTs     values\n";
    std::size_t shown = 0;
    for (const Json& p : sweep["points"]) {
        if (++shown > 60) {
            s << "  ... (" << sweep["points"].size() - 60 << " more in sweep.csv)\n";
            break;
        }
        const Json& t = p["totals"];
        std::string values;
        for (auto it = p["values"].begin(); it != p["values"].end(); ++it)
            values += (values.empty() ? "" : " ") + it.key() + "=" + it.value().get<std::string>();
        char line[256];
        std::snprintf(
            line, sizeof line, "  %5zu  %9s  %10s  %10s  %12s  %7s  ",
            p["index"].get<std::size_t>(),
            format_count(t["outputs_corrupted"].get<double>()).c_str(),
            format_count(t["events"].get<double>()).c_str(),
            t["energy_pj"].is_number() ? format_energy_pj(t["energy_pj"].get<double>()).c_str()
                                       : "-",
            t["cycles"].is_number() ? format_count(t["cycles"].get<double>()).c_str() : "-",
            t["fpga"].is_object() ? format_count(t["fpga"]["lut"].get<double>()).c_str() : "-");
        std::string marks;
        for (const ParetoAxis& a : pareto_axes())
            if (p["pareto"][a.key] == true)
                marks += (marks.empty() ? "" : ", ") + std::string(a.key);
        s << line << values << (marks.empty() ? "" : "  (Pareto: " + marks + ")") << "\n";
    }
    return s.str();
}

void write_sweep_outputs(const std::string& dir, const Json& sweep) {
    write_file(dir + "/sweep.json",
               sweep.dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
    write_file(dir + "/sweep.csv", render_sweep_csv(sweep));
    write_file(dir + "/sweep.html", render_sweep_html(sweep));
}

int64_t total_bits(const Json& record) {
    // Widths are 2..64 (journalled records are checked for it); a sum of 64-bit counts.
    int64_t s = 0;
    for (const Json& b : record["stage_bits"])
        if (b.is_number_integer()) s += std::clamp<int64_t>(b.get<int64_t>(), 0, 64);
    return s;
}

}  // namespace accsim
