#include "scalesim/scalesim.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "datapath/input_error.h"
#include "traces/mapped_file.h"
#include "datapath/wide_int.h"

namespace accsim {
namespace {

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// The keys SCALE-Sim v2 reads, per section (configparser: option names are case-insensitive).
const std::map<std::string, std::set<std::string>>& known_keys() {
    static const std::map<std::string, std::set<std::string>> k = {
        {"general", {"run_name"}},
        {"architecture_presets",
         {"arrayheight", "arraywidth", "ifmapsramszkb", "filtersramszkb", "ofmapsramszkb",
          "ifmapoffset", "filteroffset", "ofmapoffset", "bandwidth", "dataflow", "memorybanks",
          "readrequestbuffer", "writerequestbuffer"}},
        {"run_presets", {"interfacebandwidth", "useramulatortrace"}},
        {"network_presets", {"topologycsvloc"}},
        {"memory_map_files", {"memorymapifmap", "memorymapfilter", "memorymapofmap"}},
    };
    return k;
}

struct CfgValue {
    std::string value;
    int line = 0;
};

int64_t positive_int(const std::string& file, const std::string& field, const std::string& text) {
    int64_t v = 0;
    const std::string t = trim(text);
    const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size() || v <= 0 || v > (int64_t{1} << 31))
        throw InputError(file, field, "expected a positive integer, got \"" + t + "\"");
    return v;
}

}  // namespace

bool is_scalesim_cfg(const std::string& path) {
    return path.size() > 4 && lower(path.substr(path.size() - 4)) == ".cfg";
}

nlohmann::json scalesim_cfg_to_json(const std::string& path) {
    std::istringstream f(read_text_file(path, std::size_t{1} << 20));  // a .cfg is a few lines
    std::map<std::string, std::map<std::string, CfgValue>> cfg;
    std::string line, section;
    std::set<std::string> seen_sections;
    int number = 0;
    while (std::getline(f, line)) {
        ++number;
        const std::string t = trim(line);
        if (t.empty() || t[0] == '#' || t[0] == ';') continue;
        const std::string where = "line " + std::to_string(number);
        if (t.front() == '[') {
            if (t.back() != ']')
                throw InputError(path, where, "a section header must end with ']'");
            section = trim(t.substr(1, t.size() - 2));
            if (!seen_sections.insert(section).second)
                throw InputError(path, "[" + section + "] (" + where + ")",
                                 "section given twice (SCALE-Sim's configparser refuses it too)");
            if (!known_keys().count(section)) {
                std::string valid;
                for (const auto& [s, _] : known_keys()) valid += (valid.empty() ? "" : ", ") + s;
                throw InputError(path, "[" + section + "] (" + where + ")",
                                 "unknown section (accsim reads SCALE-Sim v2's: " + valid + ")");
            }
            continue;
        }
        const auto sep = t.find_first_of(":=");
        if (sep == std::string::npos)
            throw InputError(path, where, "expected KEY : VALUE, got \"" + t + "\"");
        if (section.empty()) throw InputError(path, where, "a key before any [section]");
        const std::string key = lower(trim(t.substr(0, sep)));
        const std::set<std::string>& keys = known_keys().at(section);
        if (!keys.count(key)) {
            std::string valid;
            for (const std::string& k : keys) valid += (valid.empty() ? "" : ", ") + k;
            throw InputError(path,
                             "[" + section + "] " + trim(t.substr(0, sep)) + " (" + where + ")",
                             "unknown key (valid, in any case: " + valid + ")");
        }
        if (cfg[section].count(key))
            throw InputError(
                path, "[" + section + "] " + trim(t.substr(0, sep)) + " (" + where + ")",
                "key given twice (first on line " + std::to_string(cfg[section][key].line) + ")");
        cfg[section][key] = CfgValue{trim(t.substr(sep + 1)), number};
    }
    auto get = [&](const std::string& s, const std::string& k) -> const CfgValue* {
        const auto it = cfg.find(s);
        if (it == cfg.end()) return nullptr;
        const auto kt = it->second.find(k);
        return kt == it->second.end() ? nullptr : &kt->second;
    };
    auto required = [&](const std::string& s, const std::string& k) -> const CfgValue& {
        const CfgValue* v = get(s, k);
        if (!v) throw InputError(path, "[" + s + "] " + k, "missing (SCALE-Sim requires it)");
        return *v;
    };
    auto field = [](const std::string& s, const std::string& k, const CfgValue& v) {
        return "[" + s + "] " + k + " (line " + std::to_string(v.line) + ")";
    };
    const std::string ap = "architecture_presets";
    auto number_of = [&](const std::string& k) {
        const CfgValue& v = required(ap, k);
        return positive_int(path, field(ap, k, v), v.value);
    };
    const int64_t rows = number_of("arrayheight"), cols = number_of("arraywidth");
    for (const char* k : {"arrayheight", "arraywidth"}) {
        const CfgValue& v = required(ap, k);
        if (positive_int(path, field(ap, k, v), v.value) > 65536)
            throw InputError(path, field(ap, k, v),
                             "an array side of at most 65536 PEs, got " + trim(v.value));
    }
    for (const char* k : {"ifmapoffset", "filteroffset", "ofmapoffset"}) {
        // Addresses only (they do not change the timing), but they must be numbers.
        const CfgValue* v = get(ap, k);
        if (v && trim(v->value) != "0") positive_int(path, field(ap, k, *v), v->value);
    }
    const int64_t ifmap_kb = number_of("ifmapsramszkb"), filter_kb = number_of("filtersramszkb"),
                  ofmap_kb = number_of("ofmapsramszkb");
    const CfgValue& df = required(ap, "dataflow");
    const std::string dataflow = lower(df.value);
    if (dataflow != "os" && dataflow != "ws" && dataflow != "is")
        throw InputError(path, field(ap, "dataflow", df),
                         "expected os, ws or is, got \"" + df.value + "\"");
    if (const CfgValue* banks = get(ap, "memorybanks"))
        if (positive_int(path, field(ap, "memorybanks", *banks), banks->value) != 1)
            throw InputError(path, field(ap, "memorybanks", *banks),
                             "accsim models one memory bank");
    const CfgValue& ib = required("run_presets", "interfacebandwidth");
    const std::string mode = trim(ib.value);
    if (mode != "CALC" && mode != "USER")
        throw InputError(path, field("run_presets", "interfacebandwidth", ib),
                         "expected CALC or USER, got \"" + mode + "\"");
    if (const CfgValue* r = get("run_presets", "useramulatortrace"))
        if (lower(r->value) != "false")
            throw InputError(path, field("run_presets", "useramulatortrace", *r),
                             "Ramulator traces are not modelled");
    // Bandwidth: words (= bytes) per cycle of the DRAM interface; SCALE-Sim reads it in USER
    // mode only, one value per memory bank.
    double bandwidth = 10;  // SCALE-Sim's CALC mode starts its DRAM trace at 10 words per cycle
    if (const CfgValue* b = get(ap, "bandwidth")) {
        const std::string first = trim(b->value.substr(0, b->value.find(',')));
        bandwidth = static_cast<double>(positive_int(path, field(ap, "bandwidth", *b), first));
    } else if (mode == "USER") {
        required(ap, "bandwidth");
    }
    std::string name = std::filesystem::path(path).stem().string();
    if (const CfgValue* n = get("general", "run_name")) name = n->value;

    auto buffer = [&](int64_t kb) {
        // SCALE-Sim's SRAMs serve the array at whatever rate it asks: sram_limits is off.
        return nlohmann::json{{"size_kb", kb},
                              {"bandwidth_bytes_per_cycle", std::max(rows, cols)},
                              {"double_buffered", true}};
    };
    return {
        {"name", name},
        {"description",
         "translated from the SCALE-Sim config " + path +
             " (words of one byte; SCALE-Sim has no clock: 1 GHz is assumed for times)"},
        {"target", "asic"},
        {"clock_mhz", 1000},
        {"array", {{"kind", "systolic"}, {"rows", rows}, {"cols", cols}, {"dataflow", dataflow}}},
        {"memory",
         {{"ifmap", buffer(ifmap_kb)},
          {"filter", buffer(filter_kb)},
          {"ofmap", buffer(ofmap_kb)},
          {"dram", {{"bandwidth_bytes_per_cycle", bandwidth}, {"latency_cycles", 0}}}}},
        {"timing",
         {{"convention", "scalesim"}, {"dram_stalls", mode == "USER"}, {"sram_limits", false}}},
        {"accumulator", {{"stages", nlohmann::json::array({{{"bits", 32}}})}}},
    };
}

std::vector<LayerWork> read_topology(const std::string& path, TopologyFormat format) {
    std::istringstream f(read_text_file(path, std::size_t{64} << 20));  // a line per layer
    const std::vector<std::string> conv_cols = {"Layer name",    "IFMAP Height", "IFMAP Width",
                                                "Filter Height", "Filter Width", "Channels",
                                                "Num Filter",    "Strides"};
    const std::vector<std::string> gemm_cols = {"Layer", "M", "N", "K"};
    const std::vector<std::string>& cols = format == TopologyFormat::conv ? conv_cols : gemm_cols;
    std::vector<LayerWork> out;
    std::string line;
    int number = 0;
    while (std::getline(f, line)) {
        ++number;
        if (number == 1) continue;  // SCALE-Sim always skips the first line, its header
        if (trim(line).empty()) continue;
        std::vector<std::string> fields;
        std::stringstream ss(line);
        std::string cell;
        while (std::getline(ss, cell, ',')) fields.push_back(trim(cell));
        // SCALE-Sim's rows end with a comma (it drops the last field); accsim reads both forms.
        while (!fields.empty() && fields.back().empty()) fields.pop_back();
        const std::string where = "line " + std::to_string(number);
        if (fields.size() < cols.size())
            throw InputError(path, where,
                             "expected " + std::to_string(cols.size()) + " columns (" +
                                 cols.front() + ", ... " + cols.back() + "), got " +
                                 std::to_string(fields.size()));
        auto value = [&](std::size_t i) {
            return positive_int(path, where + ", " + cols[i], fields[i]);
        };
        LayerWork w;
        w.name = fields[0].empty() ? "layer" + std::to_string(out.size()) : fields[0];
        w.x_bits = w.w_bits = 8;
        if (format == TopologyFormat::gemm) {
            w.m = value(1), w.n = value(2), w.k = value(3);
            w.ifmap_elements = w.m * w.k;
            w.filter_elements = w.k * w.n;
        } else {
            const int64_t h = value(1), wd = value(2), r = value(3), s = value(4), c = value(5),
                          filters = value(6), stride = value(7);
            if (r > h || s > wd)
                throw InputError(path, where,
                                 "the " + std::to_string(r) + "x" + std::to_string(s) +
                                     " filter is larger than the " + std::to_string(h) + "x" +
                                     std::to_string(wd) + " input");
            // No padding: SCALE-Sim's output size ceil((H - R) / stride) + 1.
            const int64_t e = (h - r + stride - 1) / stride + 1,
                          fo = (wd - s + stride - 1) / stride + 1;
            // 128 bits until the size check below: r * s * c * filters can pass 2^63.
            const i128 k = i128{r} * s * c, m = i128{e} * fo;
            if (k > (i128{1} << 40) || m * filters > (i128{1} << 40) ||
                i128{h} * wd * c > (i128{1} << 50) || k * filters > (i128{1} << 50))
                throw InputError(path, where,
                                 "the layer is too large (dot length " + to_string(k) + ", " +
                                     to_string(m * filters) + " outputs)");
            w.m = static_cast<int64_t>(m), w.n = filters, w.k = static_cast<int64_t>(k);
            w.ifmap_elements = h * wd * c;
            w.filter_elements = w.k * filters;
        }
        // The counts a run keeps must stay exact: at most 2^40 outputs and 2^50 MACs a layer.
        const i128 outputs = i128{w.m} * w.n, macs = outputs * w.k;
        if (outputs > (i128{1} << 40) || macs > (i128{1} << 50))
            throw InputError(path, where,
                             "the layer has " + to_string(macs) + " MACs and " +
                                 to_string(outputs) +
                                 " outputs; accsim accepts up to 2^50 and 2^40");
        out.push_back(w);
    }
    if (out.empty()) throw InputError(path, "file", "no layers (the first line is the header)");
    return out;
}

std::string python_float(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[64];
    const auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    std::string s(buf, p);
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    return s;
}

void write_scalesim_reports(const std::string& dir, const ArraySpec& a,
                            const std::vector<LayerWork>& layers,
                            const std::vector<LayerTiming>& timings) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw InputError(dir, "--scalesim-reports", "cannot create directory: " + ec.message());
    std::ofstream compute(dir + "/COMPUTE_REPORT.csv"), bandwidth(dir + "/BANDWIDTH_REPORT.csv");
    if (!compute || !bandwidth)
        throw InputError(dir, "--scalesim-reports", "cannot write the reports");
    compute << "LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute "
               "Util %,\n";
    bandwidth
        << "LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, Avg IFMAP DRAM BW, "
           "Avg FILTER DRAM BW, Avg OFMAP DRAM BW,\n";
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const LayerTiming& t = timings[i];
        const double cycles = static_cast<double>(std::max<int64_t>(t.total, 1));
        compute << i << ", " << t.total << ", " << t.stall << ", "
                << python_float(100.0 * t.utilization()) << ", "
                << python_float(100.0 * t.mapping_efficiency) << ", "
                << python_float(100.0 * t.scalesim_compute_util) << ",\n";
        // SCALE-Sim counts an os layer's ofmap writes as M x N plus R + C per fold.
        double ofmap = t.traffic.sram_ofmap;
        if (a.kind == ArrayKind::systolic && a.dataflow == Dataflow::os)
            ofmap = static_cast<double>(layers[i].outputs()) +
                    static_cast<double>(t.folds * (a.rows + a.cols));
        bandwidth << i << ", " << python_float(t.traffic.sram_ifmap / cycles) << ", "
                  << python_float(t.traffic.sram_filter / cycles) << ", "
                  << python_float(ofmap / cycles) << ", "
                  << python_float(t.traffic.dram_ifmap / cycles) << ", "
                  << python_float(t.traffic.dram_filter / cycles) << ", "
                  << python_float(t.traffic.dram_ofmap / cycles) << ",\n";
    }
}

}  // namespace accsim
