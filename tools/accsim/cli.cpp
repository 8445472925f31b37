#include "cli.h"

#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "accsim_version.h"
#include "config_units.h"
#include "datapath/input_error.h"
#include "datapath/parallel_for.h"
#include "hw_config.h"
#include "inspect.h"
#include "layer_audit.h"
#include "layer_run.h"
#include "report.h"
#include "report_html.h"
#include "scalesim.h"
#include "sweep.h"
#include "traces/trace.h"

namespace po = boost::program_options;

namespace accsim {
namespace {

const char* const k_usage =
    "accsim - bit-accurate accumulator simulator for quantized neural networks\n"
    "\n"
    "usage:\n"
    "  accsim run      --trace DIR --config FILE [options]                  overflow, bounds and "
    "cycles\n"
    "  accsim audit    --trace DIR (--config FILE | --acc SPEC) [options]   overflow audit, no "
    "timing\n"
    "  accsim inspect  --trace DIR [--layers REGEX]                         layers, shapes, bits, "
    "value ranges\n"
    "  accsim validate (--config FILE | --acc SPEC) [--set PATH=VALUE]...   check a config, print "
    "the effective one with units\n"
    "  accsim sweep    --trace DIR (--config FILE | --acc SPEC) --grid PATH=VALUES... --out DIR\n"
    "                  [--acc-grid \"SPEC;SPEC\"] [--resume] [options]     design-space sweep, "
    "Pareto output\n"
    "  accsim COMMAND --help    options of one command\n"
    "  accsim --version\n"
    "\n"
    "--acc SPEC: accumulator stages separated by commas, each [LENGTHx]BITS[:wrap|:sat][:tree];\n"
    "  16 is one 16-bit wrapping register; 128x16,32:sat sums 16-bit tiles of 128 products in a\n"
    "  saturating 32-bit register.\n";

class UsageError : public InputError {
  public:
    UsageError(const std::string& option, const std::string& what)
        : InputError("command line", option, what) {}
};

struct Common {
    std::string trace;
    std::string config;
    std::string acc;
    std::vector<std::string> sets;
    std::string layers;
    std::string out;
    std::string mode = "tlm";
    std::string vcd;
    std::string topology;
    std::string topology_format = "conv";
    std::string scalesim_reports;
    bool quiet = false;
    bool help = false;
    bool json = false;
    int threads = 0;  // 0: every hardware thread
    std::vector<std::string> grids;
    std::string acc_grid;
    bool resume = false;
    bool no_derive = false;
};

int thread_count(const Common& c) {
    if (c.threads < 0 || c.threads > 4096)
        throw InputError("command line", "--threads",
                         "expected a thread count in [1, 4096], got " + std::to_string(c.threads));
    return c.threads == 0 ? default_threads() : c.threads;
}

po::options_description options_for(const std::string& command, Common& c) {
    po::options_description d("accsim " + command + " options");
    auto add = d.add_options();
    if (command != "validate")
        add("trace", po::value(&c.trace)->value_name("DIR"), "trace directory (format v1)");
    if (command != "inspect") {
        add("config", po::value(&c.config)->value_name("FILE"), "hardware configuration (JSON)");
        add("acc", po::value(&c.acc)->value_name("SPEC"),
            "accumulator stages, e.g. 16 or 128x16,32:sat");
        add("set", po::value(&c.sets)->value_name("PATH=VALUE")->composing(),
            "override a config field, e.g. accumulator.stages.0.bits=16 (repeatable)");
    }
    if (command != "validate")
        add("layers", po::value(&c.layers)->value_name("REGEX"), "only layers whose name matches");
    if (command == "sweep") {
        add("grid", po::value(&c.grids)->value_name("PATH=VALUES")->composing(),
            "sweep a config field: a list 12,14,16, a range 12..20 or a stepped range 12..32:2 "
            "(repeatable: the grids form a cartesian product)");
        add("acc-grid", po::value(&c.acc_grid)->value_name("\"SPEC;SPEC;...\""),
            "sweep whole accumulator layouts, e.g. \"16;128x16,32;64x14,24\"");
        add("resume", po::bool_switch(&c.resume),
            "continue an interrupted sweep in --out without recomputing its finished points");
        add("no-derive", po::bool_switch(&c.no_derive),
            "replay every point and layer, deriving nothing (to check the derivations)");
    }
    if (command == "audit" || command == "run" || command == "sweep")
        add("threads", po::value(&c.threads)->value_name("N"),
            "replay on N threads (default: all; results are the same for any N)");
    if (command == "audit" || command == "run")
        add("out", po::value(&c.out)->value_name("DIR"),
            "write report.json, layers.csv and report.html here");
    if (command == "sweep")
        add("out", po::value(&c.out)->value_name("DIR"),
            "write sweep.csv, sweep.json and sweep.html here (and points.jsonl, for --resume)");
    if (command == "run") {
        add("mode", po::value(&c.mode)->value_name("tlm|cycle"),
            "tlm: whole folds, time annotated (default); cycle: every PE clocked (small layers)");
        add("vcd", po::value(&c.vcd)->value_name("FILE"),
            "cycle mode: write a waveform (GTKWave) of the run");
        add("topology", po::value(&c.topology)->value_name("CSV"),
            "a SCALE-Sim topology instead of a trace: a timing-only run");
        add("topology-format", po::value(&c.topology_format)->value_name("conv|gemm"),
            "the topology's form: conv (default) or gemm (Layer, M, N, K)");
        add("scalesim-reports", po::value(&c.scalesim_reports)->value_name("DIR"),
            "write SCALE-Sim's COMPUTE_REPORT.csv and BANDWIDTH_REPORT.csv here");
    }
    if (command == "validate")
        add("json", po::bool_switch(&c.json),
            "print the effective config as JSON (default: one line per key, with its unit)");
    add("quiet", po::bool_switch(&c.quiet), "print nothing but errors");
    add("help", po::bool_switch(&c.help), "this help");
    return d;
}

void parse(const std::string& command, const std::vector<std::string>& args, Common& c,
           std::ostream& out) {
    po::options_description desc = options_for(command, c);
    po::variables_map vm;
    try {
        po::store(
            po::command_line_parser(args)
                .options(desc)
                .style(po::command_line_style::unix_style ^ po::command_line_style::allow_guessing)
                .run(),
            vm);
        po::notify(vm);
    } catch (const po::unknown_option& e) {
        throw UsageError(e.get_option_name(),
                         "unknown option for " + command + " (see accsim " + command + " --help)");
    } catch (const po::multiple_occurrences& e) {
        throw UsageError(e.get_option_name(), "given more than once");
    } catch (const po::error_with_option_name& e) {
        throw UsageError(e.get_option_name().empty() ? command : e.get_option_name(), e.what());
    } catch (const po::error& e) {
        throw UsageError(command, e.what());
    }
    if (c.help) out << desc;
    // An option given with an empty value is a mistake, never "not given".
    for (const char* name : {"trace", "config", "acc", "layers", "out", "topology",
                             "scalesim-reports", "vcd", "acc-grid"})
        if (vm.count(name) && vm[name].as<std::string>().empty())
            throw UsageError(std::string("--") + name, "empty value");
}

ConfigSources config_sources(const Common& c) {
    ConfigSources s;
    if (!c.config.empty()) s.file = c.config;
    if (!c.acc.empty()) s.acc = c.acc;
    s.sets = c.sets;
    if (!s.file && !s.acc) throw UsageError("--config", "give --config FILE or --acc SPEC");
    return s;
}

std::regex layer_regex(const std::string& pattern) {
    try {
        return std::regex(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        throw UsageError("--layers", "invalid regular expression \"" + pattern + "\": " + e.what());
    }
}

std::vector<const LayerSpec*> select_layers(const Trace& t, const std::string& pattern) {
    std::vector<const LayerSpec*> out;
    if (pattern.empty()) {
        for (const LayerSpec& l : t.layers()) out.push_back(&l);
        return out;
    }
    const std::regex re = layer_regex(pattern);
    for (const LayerSpec& l : t.layers())
        if (std::regex_search(l.name, re)) out.push_back(&l);
    if (out.empty()) {
        std::string names;
        for (const LayerSpec& l : t.layers()) names += (names.empty() ? "" : ", ") + l.name;
        if (names.size() > 200) names = names.substr(0, 197) + "...";
        throw UsageError("--layers",
                         "\"" + pattern + "\" matches no layer (layers: " + names + ")");
    }
    return out;
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::trunc);
    f << text;
    if (!f) throw InputError(path, "--out", "cannot write");
}

// Writes report.json and layers.csv (with --out) and prints the table (unless --quiet).
void emit(const nlohmann::ordered_json& report, const Common& c, std::ostream& out) {
    if (!c.out.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(c.out, ec);
        if (ec) throw InputError(c.out, "--out", "cannot create directory: " + ec.message());
        write_file(
            c.out + "/report.json",
            report.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
        write_file(c.out + "/layers.csv", render_csv(report));
        write_file(c.out + "/report.html", render_html(report));
    }
    if (!c.quiet) {
        out << render_table(report);
        if (!c.out.empty())
            out << "\nwrote " << c.out << "/report.json, " << c.out << "/layers.csv, " << c.out
                << "/report.html\n";
    }
}

int cmd_audit(const std::vector<std::string>& args, std::ostream& out) {
    Common c;
    parse("audit", args, c, out);
    if (c.help) return 0;
    if (c.trace.empty()) throw UsageError("--trace", "audit needs --trace DIR");
    const int threads = thread_count(c);
    const HwConfig config = load_config(config_sources(c));
    const Trace trace = Trace::load(c.trace);
    const std::vector<LayerAudit> audits =
        audit_layers(select_layers(trace, c.layers), config, trace.manifest_path(), threads);
    std::vector<ReportLayer> rows;
    for (const LayerAudit& a : audits) rows.push_back(report_layer(a));
    emit(build_report("audit", trace_section(trace, audits.size()), config, rows), c, out);
    return 0;
}

int cmd_run(const std::vector<std::string>& args, std::ostream& out) {
    Common c;
    parse("run", args, c, out);
    if (c.help) return 0;
    if (c.trace.empty() == c.topology.empty())
        throw UsageError(c.trace.empty() ? "--trace" : "--topology",
                         "run needs exactly one of --trace DIR or --topology CSV");
    if (c.config.empty())
        throw UsageError("--config", "run needs --config FILE (the hardware to run on)");
    if (c.mode != "tlm" && c.mode != "cycle")
        throw UsageError("--mode", "expected tlm or cycle, got \"" + c.mode + "\"");
    if (!c.vcd.empty() && c.mode != "cycle")
        throw UsageError("--vcd", "a waveform needs --mode cycle");
    if (!c.vcd.empty()) {
        // SystemC would only say "cannot open trace file": check the path first.
        if (c.vcd.size() < 5 || c.vcd.compare(c.vcd.size() - 4, 4, ".vcd") != 0)
            throw UsageError("--vcd", "expected a file name ending in .vcd, got \"" + c.vcd + "\"");
        if (std::filesystem::is_directory(c.vcd))
            throw InputError(c.vcd, "--vcd", "is a directory, not a file");
        std::ofstream probe(c.vcd, std::ios::app);
        if (!probe)
            throw InputError(c.vcd, "--vcd", "cannot write here (does the directory exist?)");
    }
    if (c.topology_format != "conv" && c.topology_format != "gemm")
        throw UsageError("--topology-format",
                         "expected conv or gemm, got \"" + c.topology_format + "\"");
    const HwConfig config = load_config(config_sources(c));
    if (!config.array)
        throw InputError(c.config, "/", "run needs an \"array\" (see configs/README.md)");
    if (!config.memory)
        throw InputError(
            c.config, "/",
            "run needs a \"memory\" section (buffers and DRAM; see configs/README.md)");
    SimOptions options =
        sim_options(config, c.mode == "cycle" ? SimMode::cycle : SimMode::tlm, c.vcd);
    options.threads = thread_count(c);

    if (!c.topology.empty()) {
        // Timing only: a SCALE-Sim topology has shapes, no values.
        std::vector<LayerWork> layers = read_topology(
            c.topology, c.topology_format == "gemm" ? TopologyFormat::gemm : TopologyFormat::conv);
        if (!c.layers.empty()) {
            std::vector<LayerWork> chosen;
            const std::regex re = layer_regex(c.layers);
            for (const LayerWork& w : layers)
                if (std::regex_search(w.name, re)) chosen.push_back(w);
            if (chosen.empty())
                throw UsageError("--layers",
                                 "\"" + c.layers + "\" matches no layer of the topology");
            layers = chosen;
        }
        const std::vector<LayerTiming> timings = run_timing(layers, config, options, c.topology);
        std::vector<PricedLayer> priced;
        for (std::size_t i = 0; i < layers.size(); ++i)
            priced.push_back(PricedLayer{layers[i], false, std::nullopt, timings[i]});
        const RunCosts costs = price_run(config, priced);
        std::vector<ReportLayer> rows;
        for (std::size_t i = 0; i < layers.size(); ++i)
            rows.push_back(ReportLayer{
                layers[i].name, c.topology_format == "gemm" ? "gemm" : "conv2d", layers[i].k,
                layers[i].outputs(), layers[i].macs(), nullptr, &timings[i], &costs.layers[i]});
        nlohmann::ordered_json source = {
            {"path", c.topology},
            {"model", std::filesystem::path(c.topology).stem().string()},
            {"source", "SCALE-Sim topology (" + c.topology_format + " form), timing only"},
            {"layers_in_trace", layers.size()},
            {"layers_reported", layers.size()}};
        if (!c.scalesim_reports.empty())
            write_scalesim_reports(c.scalesim_reports, *config.array, layers, timings);
        emit(build_report("run", source, config, rows, &costs), c, out);
        return 0;
    }
    const Trace trace = Trace::load(c.trace);
    const std::vector<LayerRun> runs =
        run_layers(select_layers(trace, c.layers), config, options, trace.manifest_path());
    std::vector<PricedLayer> priced;
    for (const LayerRun& r : runs)
        priced.push_back(
            PricedLayer{r.work, r.audit.layer->bias.has_value(), r.zero_products, r.timing});
    const RunCosts costs = price_run(config, priced);
    std::vector<ReportLayer> rows;
    for (std::size_t i = 0; i < runs.size(); ++i)
        rows.push_back(report_layer(runs[i].audit, &runs[i].timing, &costs.layers[i]));
    if (!c.scalesim_reports.empty()) {
        std::vector<LayerWork> works;
        std::vector<LayerTiming> timings;
        for (const LayerRun& r : runs) {
            works.push_back(r.work);
            timings.push_back(r.timing);
        }
        write_scalesim_reports(c.scalesim_reports, *config.array, works, timings);
    }
    emit(build_report("run", trace_section(trace, runs.size()), config, rows, &costs), c, out);
    return 0;
}

int cmd_sweep(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    Common c;
    parse("sweep", args, c, out);
    if (c.help) return 0;
    if (c.trace.empty()) throw UsageError("--trace", "sweep needs --trace DIR");
    if (c.out.empty())
        throw UsageError("--out", "sweep needs --out DIR (for its results and for --resume)");
    SweepOptions o;
    o.threads = thread_count(c);
    for (const std::string& g : c.grids) o.axes.push_back(parse_grid(g));
    if (!c.acc_grid.empty()) o.accs = parse_acc_grid(c.acc_grid);
    // Layouts alone make an audit-only sweep: the first one stands in as the base.
    if (c.config.empty() && c.acc.empty() && !o.accs.empty()) c.acc = o.accs.front();
    o.base = config_sources(c);
    if (o.axes.empty() && o.accs.empty())
        throw UsageError("--grid", "sweep needs at least one --grid PATH=VALUES or --acc-grid");
    o.out = c.out;
    o.resume = c.resume;
    o.quiet = c.quiet;
    o.derive = !c.no_derive;
    const Trace trace = Trace::load(c.trace);
    run_sweep(o, trace, select_layers(trace, c.layers), out, err);
    return 0;
}

int cmd_inspect(const std::vector<std::string>& args, std::ostream& out) {
    Common c;
    parse("inspect", args, c, out);
    if (c.help) return 0;
    if (c.trace.empty()) throw UsageError("--trace", "inspect needs --trace DIR");
    const Trace trace = Trace::load(c.trace);
    const auto layers = select_layers(trace, c.layers);
    if (!c.quiet) out << render_inspect(trace, layers);
    return 0;
}

int cmd_validate(const std::vector<std::string>& args, std::ostream& out) {
    Common c;
    parse("validate", args, c, out);
    if (c.help) return 0;
    const HwConfig config = load_config(config_sources(c));
    if (!c.quiet) {
        if (c.json)
            out << config.effective.dump(2, ' ', false,
                                         nlohmann::ordered_json::error_handler_t::replace)
                << "\n";
        else
            out << render_config(config.effective);
        out << (c.config.empty() ? "--acc" : c.config) << ": ok\n";
    }
    return 0;
}

}  // namespace

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
    std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.empty()) {
            err << k_usage;
            return 2;
        }
        const std::string command = args[0];
        args.erase(args.begin());
        if (command == "--help" || command == "-h" || command == "help") {
            out << k_usage;
            return 0;
        }
        if (command == "--version") {
            out << "accsim " << k_version << "\n";
            return 0;
        }
        if (command == "audit") return cmd_audit(args, out);
        if (command == "run") return cmd_run(args, out);
        if (command == "inspect") return cmd_inspect(args, out);
        if (command == "validate") return cmd_validate(args, out);
        if (command == "sweep") return cmd_sweep(args, out, err);
        throw UsageError(
            command,
            "unknown command (commands: run, audit, sweep, inspect, validate; see accsim --help)");
    } catch (const InputError& e) {
        err << "accsim: error: " << e.what() << "\n";
        return 2;
    } catch (const std::bad_alloc&) {
        err << "accsim: error: out of memory\n";
        return 1;
    } catch (const std::exception& e) {
        err << "accsim: internal error: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace accsim
