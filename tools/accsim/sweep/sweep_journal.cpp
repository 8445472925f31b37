#include "sweep/sweep_journal.h"

#include <fstream>
#include <sstream>

#include "accsim_version.h"
#include "datapath/input_error.h"
#include "traces/mapped_file.h"

namespace accsim {

using Json = nlohmann::ordered_json;

namespace {

constexpr int k_format = 2;

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

}  // namespace

Json journal_header(const Json& definition) {
    return {{"accsim_sweep_journal", k_format}, {"accsim", k_version}, {"definition", definition}};
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
        if (!b.is_number_unsigned()) return "stage_bits: expected widths";
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

std::map<std::size_t, Json> read_journal(const std::string& path, const Json& def,
                                         std::size_t points, std::size_t layers) {
    const std::string text = read_text_file(path, std::size_t{4} << 30);
    std::map<std::size_t, Json> done;
    std::size_t start = 0, line_no = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        if (end == std::string::npos) break;  // the unfinished last line
        const std::string line = text.substr(start, end - start);
        start = end + 1;
        ++line_no;
        const std::string where = "line " + std::to_string(line_no);
        Json j;
        try {
            j = Json::parse(line);
        } catch (const nlohmann::json::exception& e) {
            throw InputError(path, where, "not JSON (" + std::string(e.what()) + ")");
        }
        if (line_no == 1) {
            if (!j.is_object() || !j.contains("definition") || !j.contains("accsim_sweep_journal"))
                throw InputError(path, where, "not the header of an accsim sweep journal");
            if (j["definition"] != def)
                throw InputError(path, "definition",
                                 "this directory holds a different sweep (trace, layers, config or "
                                 "grid differ); use another --out, or drop --resume to start over");
            if (j["accsim_sweep_journal"] != k_format || j.value("accsim", "") != k_version)
                throw InputError(path, where,
                                 "written by another accsim (" + j.value("accsim", "?") +
                                     ", journal format " + j["accsim_sweep_journal"].dump() +
                                     "); this is " + k_version + ": drop --resume to start over");
            continue;
        }
        if (!j.is_object() || !j.contains("index") || !j["index"].is_number_unsigned() ||
            !j.contains("record"))
            throw InputError(path, where, "expected {\"index\": N, \"record\": {...}}");
        const std::size_t i = j["index"].get<std::size_t>();
        if (i >= points)
            throw InputError(path, where,
                             "point " + std::to_string(i) + " is beyond this grid's " +
                                 std::to_string(points) + " points");
        const std::string problem = record_problem(j["record"], layers);
        if (!problem.empty()) throw InputError(path, where, "record: " + problem);
        if (j["record"]["index"] != j["index"])
            throw InputError(path, where, "record: index differs from the line's");
        done[i] = j["record"];
    }
    return done;
}

}  // namespace accsim
