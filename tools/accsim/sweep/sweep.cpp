#include "sweep/sweep.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <sstream>

#include "datapath/input_error.h"
#include "datapath/parallel_for.h"
#include "engine/layer_binding.h"
#include "engine/layer_cost.h"
#include "engine/pipeline.h"
#include "engine/report_json.h"
#include "engine/run_setup.h"
#include "models/operand_activity.h"
#include "models/timing_replay.h"
#include "sweep/sweep_html.h"
#include "sweep/sweep_journal.h"
#include "sweep/sweep_output.h"
#include "sweep/sweep_values.h"

namespace accsim {

using Json = nlohmann::ordered_json;

namespace {

constexpr const char* k_journal = "points.jsonl";

bool has_hardware(const HwConfig& c) {
    return c.array.has_value() && c.memory.has_value();
}

// The config of one point: the base sources, the point's layout as --acc, its values as --set.
HwConfig point_config(const SweepOptions& o, const SweepPoint& p, std::size_t index) {
    ConfigSources s = o.base;
    if (p.acc) s.acc = *p.acc;
    for (const auto& [path, value] : p.sets) s.sets.push_back(path + "=" + value);
    try {
        return load_config(s);
    } catch (const InputError& e) {
        // The layout's fault when --acc was refused, the grid's otherwise.
        throw InputError(p.acc && e.file() == "--acc" ? "--acc-grid" : "--grid",
                         "point " + std::to_string(index) + " (" + p.label() + ")",
                         e.file() + ": " + e.field() + ": " + e.problem());
    }
}

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

// What identifies a sweep, for --resume: the trace, the layers, the base config and the grid.
Json definition(const SweepOptions& o, const Trace& trace,
                const std::vector<const LayerSpec*>& layers, const HwConfig& base) {
    Json names = Json::array();
    for (const LayerSpec* l : layers) names.push_back(l->name);
    Json grid = Json::array();
    for (const GridAxis& a : o.axes) grid.push_back({{"path", a.path}, {"values", a.values}});
    // The manifest whole, and the tensor files by size and their first and last megabyte (they
    // may be gigabytes): regenerated data makes another sweep.
    std::string fingerprint = read_text(trace.manifest_path());
    for (const std::string& file : trace.tensor_files()) {
        std::ifstream f(file, std::ios::binary);
        f.seekg(0, std::ios::end);
        const std::streamoff size = f.tellg();
        fingerprint += "|" + std::to_string(size);
        std::string block(static_cast<std::size_t>(std::min<std::streamoff>(size, 1 << 20)), '\0');
        f.seekg(0);
        f.read(block.data(), static_cast<std::streamsize>(block.size()));
        fingerprint += block;
        f.seekg(size - static_cast<std::streamoff>(block.size()));
        f.read(block.data(), static_cast<std::streamsize>(block.size()));
        fingerprint += block;
    }
    const Json def = {{"trace", std::filesystem::weakly_canonical(trace.manifest_path()).string()},
                      {"data_hash", std::to_string(std::hash<std::string>{}(fingerprint))},
                      {"layers", names},
                      {"base_config", base.effective},
                      {"grid", grid},
                      {"acc_grid", o.accs}};
    // As the journal will hold it: text that is not UTF-8 replaced, so a resume compares like
    // with like.
    return Json::parse(def.dump(-1, ' ', false, Json::error_handler_t::replace));
}

Json null_or(const Json& j, const char* key) {
    return j.is_object() && j.contains(key) ? j[key] : Json();
}

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

}  // namespace

SweepOutcome run_sweep(const SweepOptions& o, const Trace& trace,
                       const std::vector<const LayerSpec*>& layers, const SweepHooks& hooks) {
    const HwConfig base = load_config(o.base);
    const std::vector<SweepPoint> points = expand_grid(o.axes, o.accs);
    std::vector<std::unique_ptr<HwConfig>> configs;
    for (std::size_t i = 0; i < points.size(); ++i)
        configs.push_back(std::make_unique<HwConfig>(point_config(o, points[i], i)));
    for (std::size_t i = 0; i < points.size(); ++i) {
        const HwConfig& c = *configs[i];
        if (!has_hardware(c)) continue;
        const SimOptions so = sim_options(c, SimMode::tlm, "");
        for (const LayerSpec* l : layers) check_size(layer_work(*l), c, so, trace.manifest_path());
    }

    // The output directory and the journal of finished points (none without an output
    // directory: nothing to resume then).
    const bool files = !o.out.empty();
    const std::string journal_path = files ? o.out + "/" + k_journal : "";
    JournalContents resumed;
    std::ofstream journal;
    if (files) {
        std::error_code ec;
        std::filesystem::create_directories(o.out, ec);
        if (ec) throw InputError(o.out, "--out", "cannot create directory: " + ec.message());
        const Json def = definition(o, trace, layers, base);
        if (o.resume && std::filesystem::exists(journal_path)) {
            std::vector<Json> values;
            for (const SweepPoint& p : points)  // as journalled: non-UTF-8 text replaced
                values.push_back(Json::parse(
                    point_values(p).dump(-1, ' ', false, Json::error_handler_t::replace)));
            resumed = read_journal(journal_path, def, values, layers.size());
        }
        // A fresh journal, or the old one's trusted records: replaced atomically, then appended.
        rewrite_journal(journal_path, def, resumed.done);
        journal.open(journal_path, std::ios::app);
        if (!journal) throw InputError(journal_path, "--out", "cannot write");
    }
    const std::map<std::size_t, Json>& done = resumed.done;

    std::vector<std::size_t> pending;
    for (std::size_t i = 0; i < points.size(); ++i)
        if (!done.count(i)) pending.push_back(i);

    // Distinct accumulators (with their mapping) among the pending points: the values' keys.
    std::map<std::string, std::size_t> distinct;
    std::vector<const HwConfig*> value_configs;
    std::vector<std::size_t> value_of(points.size(), 0), owner;
    std::vector<std::vector<std::size_t>> points_of;  // per value config, its pending points
    for (std::size_t i : pending) {
        const HwConfig& c = *configs[i];
        const std::string key =
            c.effective["accumulator"].dump(-1, ' ', false, Json::error_handler_t::replace) +
            c.effective["mapping"].dump(-1, ' ', false, Json::error_handler_t::replace);
        auto [it, fresh] = distinct.emplace(key, value_configs.size());
        if (fresh) {
            value_configs.push_back(&c);
            owner.push_back(i);
            points_of.emplace_back();
        }
        value_of[i] = it->second;
        points_of[it->second].push_back(i);
    }
    SweepValues values(value_configs, layers, trace.manifest_path(), o.derive);

    bool any_hardware = false;
    for (std::size_t i : pending) any_hardware = any_hardware || has_hardware(*configs[i]);
    // Progress: one step per value task and per point, reported serialized.
    const int64_t total = static_cast<int64_t>(values.tasks() + pending.size());
    int64_t finished = 0;
    std::mutex progress_mutex;
    const auto advance = [&] {
        if (!hooks.progress) return;
        std::lock_guard<std::mutex> lock(progress_mutex);
        hooks.progress(++finished, total);
    };

    // Products with a zero operand, per layer (for zero gating): independent of the config.
    std::vector<ZeroProducts> zeros(layers.size());
    if (any_hardware)
        parallel_for(static_cast<int64_t>(layers.size()), o.threads, [&](int64_t l) {
            const LayerBinding b(*layers[l], *configs[pending.front()]);
            zeros[l] = count_zero_products(b.work(), b);
        });

    // Timing, costs, the report and the record of one pending point, journalled at once.
    std::mutex journal_mutex;
    std::vector<Json> records(points.size());
    const auto finish_point = [&](std::size_t i) {
        const HwConfig& c = *configs[i];
        const std::size_t v = value_of[i];
        std::vector<LayerWork> works;
        std::vector<TimedLayer> timed;
        for (const LayerSpec* l : layers) {
            works.push_back(layer_work(*l));
            timed.push_back(
                TimedLayer{works.back(), bytes_for(c, element_bytes(*l, c.accumulator))});
        }
        std::vector<std::string> replay;
        int simulated = 0;
        for (std::size_t l = 0; l < layers.size(); ++l) {
            const ValueResult& r = values.result(v, l);
            if (owner[v] != i) {
                replay.push_back("shared with point " + std::to_string(owner[v]));
            } else {
                replay.push_back(to_string(r.kind));
                simulated += r.kind == ReplayKind::simulated;
            }
        }
        std::vector<LayerOutcome> outcomes;
        std::vector<LayerTiming> timings;
        if (has_hardware(c))
            timings = replay_timing(*c.array, *c.memory, c.accumulator, timed, c.timing.convention,
                                    c.timing.dram_stalls, c.timing.sram_limits);
        for (std::size_t l = 0; l < layers.size(); ++l)
            outcomes.push_back(layer_outcome(
                values.result(v, l).audit, works[l], timings.empty() ? nullptr : &timings[l],
                timings.empty() ? std::nullopt : std::optional(zeros[l])));
        const Json report = make_report(timings.empty() ? "audit" : "run",
                                        trace_section(trace, layers.size()), c, outcomes);
        records[i] = point_record(i, points[i], c, report, replay, simulated);
        {
            std::lock_guard<std::mutex> lock(journal_mutex);
            if (files) {
                journal << journal_line(i, records[i]);
                journal.flush();
            }
            if (hooks.point) hooks.point(i, records[i]);
        }
        advance();
    };
    // Points are finished as soon as their values are: after each wave of replays, those whose
    // every layer is done, so an interrupt loses only the replays in flight.
    values.run(o.threads, advance, [&](const std::vector<std::size_t>& complete) {
        std::vector<std::size_t> ready;
        for (std::size_t v : complete)
            ready.insert(ready.end(), points_of[v].begin(), points_of[v].end());
        std::sort(ready.begin(), ready.end());
        parallel_for(static_cast<int64_t>(ready.size()), o.threads,
                     [&](int64_t k) { finish_point(ready[static_cast<std::size_t>(k)]); });
    });
    if (files && !journal) throw InputError(journal_path, "--out", "cannot write");
    SweepOutcome outcome;
    outcome.resumed = done.size();
    outcome.computed = pending.size();
    outcome.damaged = resumed.damaged;
    for (const auto& [i, rec] : done) records[i] = rec;

    Json sweep =
        build_sweep_json(trace_section(trace, layers.size()), base, o.axes, o.accs, records);
    if (files) write_sweep_outputs(o.out, sweep);
    outcome.sweep = std::move(sweep);
    return outcome;
}

}  // namespace accsim
