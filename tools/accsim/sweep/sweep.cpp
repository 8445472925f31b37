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
#include "engine/report_json.h"
#include "sweep/sweep_journal.h"
#include "sweep/sweep_output.h"
#include "sweep/sweep_plan.h"
#include "sweep/sweep_record.h"
#include "sweep/sweep_scheduler.h"
#include "sweep/sweep_units.h"

namespace accsim {

using Json = nlohmann::ordered_json;

namespace {

constexpr const char* k_journal = "points.jsonl";
constexpr const char* k_shard_file = "shard.json";

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

}  // namespace

SweepOutcome run_sweep(const SweepOptions& o, const Trace& trace,
                       const std::vector<const LayerSpec*>& layers, const SweepHooks& hooks) {
    const HwConfig base = load_config(o.base);
    const SweepPlan plan = make_sweep_plan(o, trace, layers);
    LocalPool local(o.threads);
    WorkPool& pool = o.pool ? *o.pool : local;
    SweepWorker worker(plan, trace, layers);
    const UnitRunner runner = [&](const std::string& unit, int threads) {
        return worker.run(unit, threads);
    };
    SweepOutcome outcome;
    if (!pool.coordinates()) {  // a rank that only runs units
        pool.agree(nullptr);
        pool.drive(nullptr, runner);
        outcome.coordinator = false;
        return outcome;
    }

    // The points this process finishes: all, or the shard's slice.
    std::vector<std::size_t> mine;
    if (o.shard) {
        mine = shard_points(plan, o.shard->first, o.shard->second);
    } else {
        for (std::size_t i = 0; i < plan.points.size(); ++i) mine.push_back(i);
    }
    const Json shard = o.shard ? Json{{"k", o.shard->first}, {"n", o.shard->second}} : Json();

    // The output directory and the journal of finished points (none without an output
    // directory: nothing to resume then). Only the coordinator touches them; the other ranks
    // wait in agree() until it is ready.
    const bool files = !o.out.empty();
    const std::string journal_path = files ? o.out + "/" + k_journal : "";
    JournalContents resumed;
    std::ofstream journal;
    Json def;
    try {
        if (files) {
            std::error_code ec;
            std::filesystem::create_directories(o.out, ec);
            if (ec) throw InputError(o.out, "--out", "cannot create directory: " + ec.message());
            def = definition(o, trace, layers, base);
            if (o.resume && std::filesystem::exists(journal_path)) {
                std::vector<Json> values;
                for (const SweepPoint& p : plan.points)  // as journalled: non-UTF-8 replaced
                    values.push_back(Json::parse(
                        point_values(p).dump(-1, ' ', false, Json::error_handler_t::replace)));
                resumed = read_journal(journal_path, def, shard, values, layers.size());
                // A shard's journal holds its slice only.
                for (auto it = resumed.done.begin(); it != resumed.done.end();)
                    it = std::binary_search(mine.begin(), mine.end(), it->first)
                             ? std::next(it)
                             : resumed.done.erase(it);
            }
            // A fresh journal, or the old one's trusted records: replaced atomically, then
            // appended.
            const Json extra = {{"shard", shard}, {"trace", trace_section(trace, layers.size())}};
            rewrite_journal(journal_path, def, extra, resumed.done);
            std::filesystem::remove(o.out + "/" + k_shard_file, ec);  // done again at the end
            journal.open(journal_path, std::ios::app);
            if (!journal) throw InputError(journal_path, "--out", "cannot write");
        }
    } catch (...) {
        pool.agree(std::current_exception());  // rethrows it
        throw;
    }
    pool.agree(nullptr);
    const std::map<std::size_t, Json>& done = resumed.done;

    std::vector<std::size_t> todo;
    for (std::size_t i : mine)
        if (!done.count(i)) todo.push_back(i);
    std::vector<Json> records(plan.points.size());
    int64_t finished = 0, total = 0;
    SweepScheduler scheduler(
        plan, layers, o, todo, done,
        [&](std::size_t i, const std::string& text) {
            if (files) {
                journal << journal_line_of_text(i, text);
                journal.flush();
            }
            Json record = Json::parse(text);
            if (hooks.point) hooks.point(i, record);
            records[i] = std::move(record);
        },
        [&] {
            if (hooks.progress) hooks.progress(++finished, total);
        });
    total = scheduler.steps();
    pool.drive(&scheduler, runner);
    if (files && !journal) throw InputError(journal_path, "--out", "cannot write");
    outcome.resumed = done.size();
    outcome.computed = todo.size();
    outcome.damaged = resumed.damaged;
    for (const auto& [i, rec] : done) records[i] = rec;

    if (o.shard) {
        // The shard's slice, marked complete for sweep-merge.
        Json slice = Json::array();
        std::vector<Json> own;
        for (std::size_t i : mine) {
            slice.push_back(i);
            own.push_back(records[i]);
        }
        if (files) {
            const Json marker = {{"shard", shard}, {"points", slice}};
            std::ofstream f(o.out + "/" + k_shard_file, std::ios::trunc);
            f << marker.dump(2) << "\n";
            if (!f) throw InputError(o.out + "/" + k_shard_file, "--out", "cannot write");
        }
        outcome.sweep = build_sweep_json(trace_section(trace, layers.size()), base.effective,
                                         o.axes, o.accs, std::move(own));
        return outcome;
    }
    Json sweep = build_sweep_json(trace_section(trace, layers.size()), base.effective, o.axes,
                                  o.accs, std::move(records));
    if (files) write_sweep_outputs(o.out, sweep);
    outcome.sweep = std::move(sweep);
    return outcome;
}

}  // namespace accsim
