#include "sweep/sweep_merge.h"

#include <cstdint>
#include <filesystem>
#include <map>

#include "datapath/input_error.h"
#include "sweep/sweep.h"
#include "sweep/sweep_grid.h"
#include "sweep/sweep_journal.h"
#include "sweep/sweep_output.h"
#include "sweep/sweep_record.h"
#include "traces/mapped_file.h"

namespace accsim {

using Json = nlohmann::ordered_json;

namespace {

std::string dump(const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

struct Shard {
    std::string dir;
    Json header;
    int k = 0, n = 0;
    std::vector<std::size_t> points;  // as its shard.json lists them
};

Shard read_shard(const std::string& dir) {
    Shard s;
    s.dir = dir;
    const std::string journal = dir + "/points.jsonl", marker = dir + "/shard.json";
    if (!std::filesystem::is_regular_file(journal))
        throw InputError(journal, "SHARD_DIR",
                         "missing: not the directory of an `accsim sweep --shard k/N` run");
    s.header = read_journal_header(journal);
    const Json& sh = s.header.contains("shard") ? s.header["shard"] : Json();
    if (!sh.is_object() || !sh.contains("k") || !sh.contains("n") ||
        !sh["k"].is_number_unsigned() || !sh["n"].is_number_unsigned() ||
        !s.header.contains("trace"))
        throw InputError(journal, "shard",
                         "this is the journal of a whole sweep, not of a shard (--shard k/N)");
    // As --shard takes them; read wide, so that no number wraps into range.
    const uint64_t k = sh["k"].get<uint64_t>(), n = sh["n"].get<uint64_t>();
    if (k < 1 || k > n || n > static_cast<uint64_t>(k_max_shards))
        throw InputError(journal, "shard",
                         "not a shard k/N with 1 <= k <= N <= " + std::to_string(k_max_shards) +
                             ": " + dump(sh));
    s.k = static_cast<int>(k);
    s.n = static_cast<int>(n);
    if (!std::filesystem::is_regular_file(marker))
        throw InputError(marker, "shard",
                         "missing: shard " + std::to_string(s.k) + "/" + std::to_string(s.n) +
                             " has not finished (run it again with --resume)");
    Json m;
    try {
        m = Json::parse(read_text_file(marker, std::size_t{1} << 30));
    } catch (const nlohmann::json::exception&) {
        throw InputError(marker, "shard", "not JSON");
    }
    if (!m.is_object() || m.value("shard", Json()) != sh || !m.contains("points") ||
        !m["points"].is_array())
        throw InputError(marker, "shard", "does not match its journal's shard");
    for (const Json& p : m["points"]) {
        if (!p.is_number_unsigned()) throw InputError(marker, "points", "expected point indices");
        s.points.push_back(p.get<std::size_t>());
    }
    return s;
}

bool is_string_array(const Json& j) {
    if (!j.is_array()) return false;
    for (const Json& e : j)
        if (!e.is_string()) return false;
    return true;
}

// Why the journal header `h` (its format and version checked) does not hold the sweep's
// definition and trace section the merged files are built from, or "" when it does.
std::string header_problem(const Json& h) {
    const Json& def = h["definition"];
    if (!def.is_object()) return "definition: expected an object";
    for (const char* key : {"grid", "acc_grid", "layers"})
        if (!def.contains(key) || !def[key].is_array())
            return std::string("definition/") + key + ": expected an array";
    if (!is_string_array(def["acc_grid"]) || !is_string_array(def["layers"]))
        return "definition: expected layer names and accumulator layouts as strings";
    for (const Json& a : def["grid"])
        if (!a.is_object() || !a.contains("path") || !a["path"].is_string() ||
            !a.contains("values") || !is_string_array(a["values"]) || a["values"].empty())
            return "definition/grid: expected axes of a path and values (strings)";
    if (def["grid"].empty() && def["acc_grid"].empty()) return "definition: a grid without axes";
    if (!def.contains("base_config") || !def["base_config"].is_object() ||
        !def["base_config"].contains("name") || !def["base_config"]["name"].is_string())
        return "definition/base_config: expected a configuration with its name";
    const Json& trace = h["trace"];
    if (!trace.is_object() || !trace.contains("model") || !trace["model"].is_string() ||
        !trace.contains("path") || !trace["path"].is_string())
        return "trace: expected the trace's model and path";
    return "";
}

}  // namespace

Json merge_sweep_shards(const std::string& out, const std::vector<std::string>& dirs) {
    if (dirs.empty())
        throw InputError("command line", "SHARD_DIR", "give the directories of every shard");
    std::vector<Shard> shards;
    for (const std::string& d : dirs) shards.push_back(read_shard(d));
    const Shard& first = shards.front();
    const std::string problem = header_problem(first.header);
    if (!problem.empty())
        throw InputError(first.dir + "/points.jsonl", "line 1",
                         problem + ": not a journal accsim wrote (run the shard again)");
    const Json& def = first.header["definition"];
    std::map<int, const Shard*> by_k;
    for (const Shard& s : shards) {
        if (s.header["definition"] != def || s.n != first.n ||
            s.header["trace"] != first.header["trace"])
            throw InputError(s.dir + "/points.jsonl", "definition",
                             "a shard of another sweep than " + first.dir +
                                 " (trace, layers, config, grid or shard count differ)");
        if (!by_k.emplace(s.k, &s).second)
            throw InputError(s.dir, "SHARD_DIR",
                             "shard " + std::to_string(s.k) + "/" + std::to_string(s.n) +
                                 " given twice (also " + by_k[s.k]->dir + ")");
    }
    for (int k = 1; k <= first.n; ++k)
        if (!by_k.count(k))
            throw InputError("command line", "SHARD_DIR",
                             "shard " + std::to_string(k) + "/" + std::to_string(first.n) +
                                 " is missing: give the directories of all " +
                                 std::to_string(first.n) + " shards");

    // The grid again, from the definition: each record must be its point's.
    std::vector<GridAxis> axes;
    for (const Json& a : def["grid"])
        axes.push_back(
            GridAxis{a["path"].get<std::string>(), a["values"].get<std::vector<std::string>>()});
    const std::vector<std::string> accs = def["acc_grid"].get<std::vector<std::string>>();
    const std::vector<SweepPoint> points = expand_grid(axes, accs);
    std::vector<Json> values;
    for (const SweepPoint& p : points) values.push_back(Json::parse(dump(point_values(p))));
    const std::size_t layers = def["layers"].size();

    std::map<std::size_t, Json> all;
    for (const auto& [k, s] : by_k) {
        const std::string path = s->dir + "/points.jsonl";
        JournalContents c = read_journal(path, def, s->header["shard"], values, layers);
        for (std::size_t i : s->points) {
            const auto it = c.done.find(i);
            if (it == c.done.end())
                throw InputError(path, "point " + std::to_string(i),
                                 "missing or damaged: run shard " + std::to_string(k) + "/" +
                                     std::to_string(s->n) + " again with --resume");
            if (!all.emplace(i, it->second).second)
                throw InputError(path, "point " + std::to_string(i),
                                 "also in another shard: these shards do not split one sweep");
        }
    }
    if (all.size() != points.size())
        throw InputError("command line", "SHARD_DIR",
                         "the shards hold " + std::to_string(all.size()) + " of the sweep's " +
                             std::to_string(points.size()) + " points");
    std::vector<Json> records;
    for (auto& [i, r] : all) records.push_back(r);

    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) throw InputError(out, "--out", "cannot create directory: " + ec.message());
    rewrite_journal(out + "/points.jsonl", def,
                    Json{{"shard", Json()}, {"trace", first.header["trace"]}}, all);
    Json sweep =
        build_sweep_json(first.header["trace"], def["base_config"], axes, accs, std::move(records));
    write_sweep_outputs(out, sweep);
    return sweep;
}

}  // namespace accsim
