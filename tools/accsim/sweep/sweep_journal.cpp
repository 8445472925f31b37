#include "sweep/sweep_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "accsim_version.h"
#include "datapath/input_error.h"
#include "traces/mapped_file.h"

namespace accsim {

using Json = nlohmann::ordered_json;

namespace {

constexpr int k_format = 4;  // 3: a checksum per record; 4: labels of the whole grid, shards

// Journal lines are shallow (a record nests five levels); a line nested deeper is damage, and
// refusing it before parsing keeps the recursive parts of JSON handling off deep input.
constexpr int k_max_depth = 32;

std::string dump(const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// FNV-1a, 64 bits: a checksum of a record's text (not a defence against forgery, a check that
// the line is what accsim wrote).
std::string checksum(const std::string& text) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : text) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return hex;
}

// The deepest nesting of arrays and objects in a JSON text (strings skipped).
int json_depth(const std::string& text) {
    int depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return deepest;
}

// The line as JSON, or null when it is not JSON or nests too deep.
Json parse_line(const std::string& line) {
    if (json_depth(line) > k_max_depth) return Json();
    try {
        return Json::parse(line);
    } catch (const nlohmann::json::exception&) {
        return Json();
    }
}

// Each check names the first key that is missing or of the wrong kind.
struct Shape {
    std::string problem;
    void need(const Json& obj, const char* key, bool (*ok)(const Json&), const char* what,
              const std::string& where) {
        if (!problem.empty()) return;
        if (!obj.is_object() || !obj.contains(key) || !ok(obj[key]))
            problem = where + key + ": expected " + what;
    }
};

bool is_count(const Json& j) {
    return j.is_number_unsigned();
}
bool is_number(const Json& j) {
    return j.is_number();
}
bool is_number_or_null(const Json& j) {
    return j.is_number() || j.is_null();
}
bool is_string(const Json& j) {
    return j.is_string();
}
bool is_object(const Json& j) {
    return j.is_object();
}
bool is_array(const Json& j) {
    return j.is_array();
}

// "shard k/n", or "the whole sweep" for null.
std::string shard_name(const Json& shard) {
    if (shard.is_null()) return "the whole sweep";
    if (shard.is_object() && shard.contains("k") && shard.contains("n"))
        return "shard " + dump(shard["k"]) + "/" + dump(shard["n"]);
    return "an unknown shard";
}

// Throws unless `j` is the header of a journal this accsim wrote.
void check_header(const std::string& path, const Json& j) {
    if (!j.is_object() || !j.contains("definition") || !j.contains("accsim_sweep_journal"))
        throw InputError(path, "line 1",
                         "not the header of an accsim sweep journal (drop --resume to start over)");
    const Json& who = j.contains("accsim") ? j["accsim"] : Json();
    const std::string version = who.is_string() ? who.get<std::string>() : "?";
    if (j["accsim_sweep_journal"] != k_format || version != k_version)
        throw InputError(path, "line 1",
                         "written by another accsim (" + version + ", journal format " +
                             dump(j["accsim_sweep_journal"]) + "); this is " + k_version +
                             ": drop --resume to start over");
}

}  // namespace

Json read_journal_header(const std::string& path) {
    const std::string text = read_text_file(path, std::size_t{4} << 30);
    const std::size_t end = text.find('\n');
    const Json j = parse_line(text.substr(0, end == std::string::npos ? text.size() : end));
    check_header(path, j);
    return j;
}

std::string journal_header_line(const Json& definition, const Json& extra) {
    Json header = {
        {"accsim_sweep_journal", k_format}, {"accsim", k_version}, {"definition", definition}};
    for (const auto& [key, value] : extra.items()) header[key] = value;
    return dump(header) + "\n";
}

std::string journal_line(std::size_t index, const Json& record) {
    return journal_line_of_text(index, dump(record));
}

std::string journal_line_of_text(std::size_t index, const std::string& record_text) {
    // What dump(Json{{"index", index}, {"record", record}, {"check", ...}}) writes.
    return "{\"index\":" + std::to_string(index) + ",\"record\":" + record_text + ",\"check\":\"" +
           checksum(record_text) + "\"}\n";
}

std::string record_problem(const Json& r, std::size_t layers) {
    Shape s;
    if (!r.is_object()) return "expected an object";
    s.need(r, "index", is_count, "a point index", "");
    s.need(r, "values", is_object, "an object", "");
    s.need(r, "accumulator", is_string, "a string", "");
    s.need(r, "stage_bits", is_array, "an array", "");
    s.need(r, "totals", is_object, "an object", "");
    s.need(r, "layers", is_array, "an array", "");
    s.need(r, "replays", is_object, "an object", "");
    if (!s.problem.empty()) return s.problem;
    for (const Json& v : r["values"])
        if (!v.is_string()) return "values: expected strings";
    for (const Json& b : r["stage_bits"])
        if (!b.is_number_unsigned() || b.get<uint64_t>() < 2 || b.get<uint64_t>() > 64)
            return "stage_bits: expected widths in [2, 64]";
    const Json& t = r["totals"];
    for (const char* k : {"events", "outputs_with_events", "outputs_corrupted"})
        s.need(t, k, is_count, "a count", "totals/");
    s.need(t, "max_abs_error", is_number, "a number", "totals/");
    for (const char* k : {"max_abs_error_real", "cycles", "energy_pj", "power_mw"})
        s.need(t, k, is_number_or_null, "a number or null", "totals/");
    for (const char* k : {"layers_at_risk", "exact_bits", "observed_bits"})
        s.need(t, k, is_number_or_null, "a number or null", "totals/");
    if (!s.problem.empty()) return s.problem;
    if (!t.contains("fpga")) return "totals/fpga: missing";
    if (!t["fpga"].is_null()) {
        for (const char* k : {"lut", "ff", "dsp", "bram18", "uram"})
            s.need(t["fpga"], k, is_number, "a number", "totals/fpga/");
        if (s.problem.empty() && !t["fpga"].contains("fits")) return "totals/fpga/fits: missing";
    }
    for (const char* k : {"simulated", "derived"})
        s.need(r["replays"], k, is_count, "a count", "replays/");
    if (!s.problem.empty()) return s.problem;
    if (r["layers"].size() != layers)
        return "layers: " + std::to_string(r["layers"].size()) + " of them, the sweep has " +
               std::to_string(layers);
    for (std::size_t i = 0; i < layers; ++i) {
        const Json& l = r["layers"][i];
        const std::string at = "layers/" + std::to_string(i) + "/";
        s.need(l, "name", is_string, "a string", at);
        s.need(l, "status", is_string, "a string", at);
        s.need(l, "replay", is_string, "a string", at);
        for (const char* k : {"events", "outputs_with_events", "outputs_corrupted"})
            s.need(l, k, is_count, "a count", at);
        s.need(l, "max_abs_error", is_number, "a number", at);
        for (const char* k : {"max_abs_error_real", "exact_bits", "observed_bits", "cycles",
                              "energy_pj", "power_mw"})
            s.need(l, k, is_number_or_null, "a number or null", at);
        s.need(l, "stages", is_array, "an array", at);
        if (!s.problem.empty()) return s.problem;
    }
    return "";
}

JournalContents read_journal(const std::string& path, const Json& def, const Json& shard,
                             const std::vector<Json>& values, std::size_t layers) {
    const std::string text = read_text_file(path, std::size_t{4} << 30);
    JournalContents out;
    std::size_t start = 0, line_no = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        if (end == std::string::npos) break;  // the unfinished last line
        const std::string line = text.substr(start, end - start);
        start = end + 1;
        ++line_no;
        const Json j = parse_line(line);
        if (line_no == 1) {
            check_header(path, j);
            if (j["definition"] != def)
                throw InputError(path, "definition",
                                 "this directory holds a different sweep (trace, layers, config or "
                                 "grid differ); use another --out, or drop --resume to start over");
            const Json theirs = j.contains("shard") ? j["shard"] : Json();
            if (theirs != shard)
                throw InputError(path, "shard",
                                 "this directory holds " + shard_name(theirs) + ", not " +
                                     shard_name(shard) +
                                     "; use another --out, or drop --resume to start over");
            continue;
        }
        // A record is trusted only whole: its checksum, its place in the grid and its shape.
        const bool ok = j.is_object() && j.contains("index") && j["index"].is_number_unsigned() &&
                        j.contains("record") && j.contains("check") && j["check"].is_string() &&
                        j["check"].get<std::string>() == checksum(dump(j["record"])) &&
                        j["index"].get<std::size_t>() < values.size() &&
                        record_problem(j["record"], layers).empty() &&
                        j["record"]["index"] == j["index"] &&
                        j["record"]["values"] == values[j["index"].get<std::size_t>()];
        if (!ok) {
            ++out.damaged;
            continue;
        }
        out.done[j["index"].get<std::size_t>()] = j["record"];
    }
    return out;
}

void rewrite_journal(const std::string& path, const Json& def, const Json& extra,
                     const std::map<std::size_t, Json>& done) {
    const std::string fresh = path + ".new";
    std::string text = journal_header_line(def, extra);
    for (const auto& [i, rec] : done) text += journal_line(i, rec);
    const int fd = ::open(fresh.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw InputError(fresh, "--out", std::string("cannot write: ") + std::strerror(errno));
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            throw InputError(fresh, "--out", std::string("cannot write: ") + std::strerror(err));
        }
        written += static_cast<std::size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced || std::rename(fresh.c_str(), path.c_str()) != 0)
        throw InputError(path, "--out", std::string("cannot replace: ") + std::strerror(errno));
}

}  // namespace accsim
