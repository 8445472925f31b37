#include "cli/cli.h"

#include <boost/program_options.hpp>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "api/accsim.h"
#include "cli/progress_bar.h"
#include "config/config_units.h"
#include "datapath/parallel_for.h"
#include "dist/job.h"
#include "dist/launcher_env.h"
#include "report/report_csv.h"
#include "report/report_html.h"
#include "report/report_table.h"
#include "sweep/sweep_output.h"

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
    "                  [--acc-grid \"SPEC;SPEC\"] [--resume] [--shard K/N] [options]\n"
    "                                                                       design-space sweep, "
    "Pareto output\n"
    "  accsim sweep-merge --out DIR SHARD_DIR...                            combine the shards "
    "of a sweep\n"
    "  mpirun -np N accsim sweep|audit ...   the same files, the work spread over N processes\n"
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
    std::string dump_outputs;
    bool quiet = false;
    bool help = false;
    bool json = false;
    int threads = 0;  // 0: every hardware thread
    std::vector<std::string> grids;
    std::string acc_grid;
    bool resume = false;
    bool no_derive = false;
    std::string shard;
    std::vector<std::string> shard_dirs;
};

// The threads each process replays on (--threads, or every hardware thread).
int thread_count_of(const Common& c) {
    return c.threads > 0 ? c.threads : default_threads();
}

// --shard K/N.
void parse_shard(const std::string& text, api::SweepRequest& request) {
    const std::size_t slash = text.find('/');
    const auto number = [&](const std::string& s) {
        if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos)
            throw UsageError("--shard", "expected K/N (e.g. 2/8), got \"" + text + "\"");
        return std::stoi(s);
    };
    if (slash == std::string::npos)
        throw UsageError("--shard", "expected K/N (e.g. 2/8), got \"" + text + "\"");
    request.shard_k = number(text.substr(0, slash));
    request.shard_n = number(text.substr(slash + 1));
}

api::ReportOptions report_options(const Common& c) {
    api::ReportOptions o;
    o.layers = c.layers;
    o.threads = c.threads;
    o.dump_outputs = c.dump_outputs;
    api::check(o);
    return o;
}

po::options_description options_for(const std::string& command, Common& c) {
    po::options_description d("accsim " + command + " options");
    auto add = d.add_options();
    if (command != "validate" && command != "sweep-merge")
        add("trace", po::value(&c.trace)->value_name("DIR"), "trace directory (format v1)");
    if (command != "inspect" && command != "sweep-merge") {
        add("config", po::value(&c.config)->value_name("FILE"), "hardware configuration (JSON)");
        add("acc", po::value(&c.acc)->value_name("SPEC"),
            "accumulator stages, e.g. 16 or 128x16,32:sat");
        add("set", po::value(&c.sets)->value_name("PATH=VALUE")->composing(),
            "override a config field, e.g. accumulator.stages.0.bits=16 (repeatable)");
    }
    if (command != "validate" && command != "sweep-merge")
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
        add("shard", po::value(&c.shard)->value_name("K/N"),
            "compute only slice K of N of the points into --out (for batch jobs without MPI; "
            "combine the N directories with accsim sweep-merge)");
    }
    if (command == "audit" || command == "run" || command == "sweep")
        add("threads", po::value(&c.threads)->value_name("N"),
            "replay on N threads (default: all; results are the same for any N)");
    if (command == "audit" || command == "run")
        add("out", po::value(&c.out)->value_name("DIR"),
            "write report.json, layers.csv and report.html here");
    if (command == "audit" || command == "run")
        add("dump-outputs", po::value(&c.dump_outputs)->value_name("DIR"),
            "write every output, its exact value and its events per stage here (index.json and "
            "one safetensors file per layer)");
    if (command == "sweep")
        add("out", po::value(&c.out)->value_name("DIR"),
            "write sweep.csv, sweep.json and sweep.html here (and points.jsonl, for --resume)");
    if (command == "sweep-merge") {
        add("out", po::value(&c.out)->value_name("DIR"),
            "write the whole sweep's sweep.csv, sweep.json, sweep.html and points.jsonl here");
        add("shard-dir", po::value(&c.shard_dirs)->value_name("SHARD_DIR")->composing(),
            "a shard's --out directory (also given bare, after the options)");
    }
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
        // Only sweep-merge takes bare words (its shard directories).
        po::positional_options_description positional;
        positional.add("shard-dir", -1);
        po::command_line_parser parser(args);
        parser.options(desc).style(po::command_line_style::unix_style ^
                                   po::command_line_style::allow_guessing);
        if (command == "sweep-merge") parser.positional(positional);
        const po::parsed_options parsed = parser.run();
        // Every value follows its option: a word on its own (or after "--") is a mistake,
        // never silently ignored.
        for (const po::option& o : parsed.options)
            if (o.string_key.empty() || (o.position_key >= 0 && command != "sweep-merge"))
                throw UsageError(
                    o.original_tokens.empty() ? command : o.original_tokens.front(),
                    "unexpected argument: every value follows its option (see accsim " + command +
                        " --help)");
        po::store(parsed, vm);
        po::notify(vm);
    } catch (const po::unknown_option& e) {
        throw UsageError(e.get_option_name(),
                         "unknown option for " + command + " (see accsim " + command + " --help)");
    } catch (const po::multiple_occurrences& e) {
        throw UsageError(e.get_option_name(), "given more than once");
    } catch (const po::invalid_command_line_syntax& e) {
        // In our words: Boost's texts differ between versions and name the option twice.
        const std::string name = e.get_option_name().empty() ? command : e.get_option_name();
        switch (e.kind()) {
            case po::invalid_syntax::missing_parameter:
            case po::invalid_syntax::empty_adjacent_parameter:
                throw UsageError(name, "needs a value");
            case po::invalid_syntax::extra_parameter:
                throw UsageError(name, "takes no value");
            default:
                throw UsageError(name, "not understood: write --option VALUE");
        }
    } catch (const po::invalid_option_value& e) {
        throw UsageError(e.get_option_name(), "expected a whole number");
    } catch (const po::validation_error& e) {
        const std::string name = e.get_option_name().empty() ? command : e.get_option_name();
        switch (e.kind()) {
            case po::validation_error::multiple_values_not_allowed:
                throw UsageError(name, "takes one value");
            case po::validation_error::at_least_one_value_required:
                throw UsageError(name, "needs a value");
            case po::validation_error::invalid_bool_value:
                throw UsageError(name, "takes no value");
            default:
                throw UsageError(name, "not a valid value");
        }
    } catch (const po::error_with_option_name& e) {
        throw UsageError(e.get_option_name().empty() ? command : e.get_option_name(),
                         "not understood (see accsim " + command + " --help)");
    } catch (const po::error& e) {
        throw UsageError(command, "not understood (see accsim " + command + " --help)");
    }
    if (c.help) out << desc;
    // An option given with an empty value is a mistake, never "not given".
    for (const char* name : {"trace", "config", "acc", "layers", "out", "topology",
                             "scalesim-reports", "vcd", "acc-grid", "dump-outputs", "shard"})
        if (vm.count(name) && vm[name].as<std::string>().empty())
            throw UsageError(std::string("--") + name, "empty value");
}

api::ConfigSources config_sources(const Common& c) {
    api::ConfigSources s;
    if (!c.config.empty()) s.file = c.config;
    if (!c.acc.empty()) s.acc = c.acc;
    s.sets = c.sets;
    if (!s.file && !s.acc) throw UsageError("--config", "give --config FILE or --acc SPEC");
    return s;
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

// Runs `body` with the job's pool (null for a job of one). A rank that fails before it has
// agreed with the others on starting (it could not read the trace on its machine) joins their
// agreement on its way out: no rank waits forever, and rank 0 reports the error.
template <class Body>
int with_job_pool(int threads, Body&& body) {
    const std::unique_ptr<WorkPool> pool = job_pool(threads);
    try {
        return body(pool.get());
    } catch (...) {
        if (pool) pool->leave(std::current_exception());
        throw;
    }
}

// Slurm's srun without an MPI plugin starts its tasks as separate jobs of one: each would run
// the whole command into the same --out. A shard of a sweep is each task's own slice. (Started
// by an MPI launcher, the MPI job is what counts: mpirun in a Slurm allocation starts its own
// daemons with srun, and its ranks see that step's task count.)
void refuse_unjoined_tasks(const std::string& command, bool sharded) {
    const int tasks = srun_step_tasks();
    if (tasks <= 1 || launched_by_mpi() || sharded) return;
    throw UsageError(
        "srun", "started " + std::to_string(tasks) +
                    " tasks that are not one MPI job "
                    "(Slurm's MPI plugin is none), so each would run the whole " +
                    command + ": use srun --mpi=pmix (or mpirun), or start one task" +
                    (command == "sweep" ? ", or give each task its --shard K/N and --out" : ""));
}

int cmd_audit(const std::vector<std::string>& args, std::ostream& out) {
    Common c;
    parse("audit", args, c, out);
    if (c.help) return 0;
    if (c.trace.empty()) throw UsageError("--trace", "audit needs --trace DIR");
    refuse_unjoined_tasks("audit", false);
    api::ReportOptions options = report_options(c);
    return with_job_pool(thread_count_of(c), [&](WorkPool* pool) {
        options.pool = pool;
        job_stop_message(
            "accsim: error: audit: stopped by a signal (an MPI rank died, or the job was killed); "
            "no report was written\n");
        const api::Session session(c.trace, config_sources(c));
        const api::Json report = session.audit(options);
        if (pool && !pool->coordinates()) return 0;  // rank > 0: it only ran units
        emit(report, c, out);
        return 0;
    });
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
    api::SimRunOptions sim;
    sim.cycle_mode = c.mode == "cycle";
    sim.vcd = c.vcd;
    sim.scalesim_reports = c.scalesim_reports;
    api::check(sim);
    if (c.topology_format != "conv" && c.topology_format != "gemm")
        throw UsageError("--topology-format",
                         "expected conv or gemm, got \"" + c.topology_format + "\"");
    const api::ReportOptions options = report_options(c);
    const api::ConfigSources sources = config_sources(c);
    api::check_run_config(sources);
    if (!c.topology.empty()) {
        emit(api::run_topology(c.topology, c.topology_format == "gemm", sources, options, sim), c,
             out);
        return 0;
    }
    const api::Session session(c.trace, sources);
    emit(session.run(options, sim), c, out);
    return 0;
}

int cmd_sweep(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    Common c;
    parse("sweep", args, c, out);
    if (c.help) return 0;
    if (c.trace.empty()) throw UsageError("--trace", "sweep needs --trace DIR");
    if (c.out.empty())
        throw UsageError("--out", "sweep needs --out DIR (for its results and for --resume)");
    const api::ReportOptions options = report_options(c);
    api::SweepRequest request;
    request.grid = c.grids;
    api::check(request);  // the grid is refused before anything loads
    if (!c.acc_grid.empty()) request.acc_grid = api::parse_acc_grid(c.acc_grid);
    // Layouts alone make an audit-only sweep: the first one stands in as the base.
    if (c.config.empty() && c.acc.empty() && !request.acc_grid.empty())
        c.acc = request.acc_grid.front();
    const api::ConfigSources sources = config_sources(c);
    if (request.grid.empty() && request.acc_grid.empty())
        throw UsageError("--grid", "sweep needs at least one --grid PATH=VALUES or --acc-grid");
    request.out = c.out;
    request.resume = c.resume;
    request.derive = !c.no_derive;
    if (!c.shard.empty()) parse_shard(c.shard, request);
    api::check(request);
    refuse_unjoined_tasks("sweep", request.shard_n > 0);
    const auto t0 = std::chrono::steady_clock::now();
    // The bar redraws in place: only on a terminal (a log file would fill with its frames).
    std::unique_ptr<ProgressBar> bar;
    api::SweepHooks hooks;
    if (!c.quiet && isatty(STDERR_FILENO))
        hooks.progress = [&](int64_t done, int64_t total) {
            if (!bar) bar = std::make_unique<ProgressBar>(err, "accsim sweep", total, true);
            bar->advance();
            (void)done;
        };
    api::SweepResult result;
    with_job_pool(thread_count_of(c), [&](WorkPool* pool) {
        request.pool = pool;
        job_stop_message(
            "accsim: error: sweep: stopped by a signal (an MPI rank died, or the job "
            "was killed); the finished points are kept in " +
            c.out + "/points.jsonl: run the same command with --resume\n");
        const api::Session session(c.trace, sources);
        result = session.sweep(request, options, hooks);
        request.pool = nullptr;
        return 0;
    });
    if (bar) bar->finish();
    if (!result.coordinator) return 0;  // rank > 0: it only ran units
    if (!c.quiet && request.shard_n > 0) {
        out << "shard " << request.shard_k << "/" << request.shard_n << ": "
            << result.computed + result.resumed << " points (" << result.resumed
            << " from the journal)\nwrote " << c.out << "/points.jsonl and " << c.out
            << "/shard.json; combine the shards with accsim sweep-merge --out DIR SHARD_DIR...\n";
        return 0;
    }
    if (!c.quiet) {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        out << render_sweep_summary(result.sweep, result.resumed, seconds);
        if (result.damaged)
            out << "\nrecomputed " << result.damaged
                << " journal record(s) that were damaged or did not match this grid\n";
        out << "\nwrote " << c.out << "/sweep.csv, " << c.out << "/sweep.json, " << c.out
            << "/sweep.html\n";
    }
    return 0;
}

int cmd_sweep_merge(const std::vector<std::string>& args, std::ostream& out) {
    Common c;
    parse("sweep-merge", args, c, out);
    if (c.help) return 0;
    if (c.out.empty()) throw UsageError("--out", "sweep-merge needs --out DIR");
    if (c.shard_dirs.empty())
        throw UsageError("SHARD_DIR", "sweep-merge needs the shards' directories");
    for (const std::string& d : c.shard_dirs)
        if (d.empty()) throw UsageError("SHARD_DIR", "empty value");
    const api::Json sweep = api::merge_sweep_shards(c.out, c.shard_dirs);
    if (!c.quiet)
        out << "merged " << c.shard_dirs.size() << " shards: " << sweep["points"].size()
            << " points\nwrote " << c.out << "/sweep.csv, " << c.out << "/sweep.json, " << c.out
            << "/sweep.html\n";
    return 0;
}

int cmd_inspect(const std::vector<std::string>& args, std::ostream& out) {
    Common c;
    parse("inspect", args, c, out);
    if (c.help) return 0;
    if (c.trace.empty()) throw UsageError("--trace", "inspect needs --trace DIR");
    const std::string text = api::inspect(c.trace, c.layers);
    if (!c.quiet) out << text;
    return 0;
}

int cmd_validate(const std::vector<std::string>& args, std::ostream& out) {
    Common c;
    parse("validate", args, c, out);
    if (c.help) return 0;
    const api::Json effective = api::effective_config(config_sources(c));
    if (!c.quiet) {
        if (c.json)
            out << effective.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
                << "\n";
        else
            out << render_config(effective);
        out << (c.config.empty() ? "--acc" : c.config) << ": ok\n";
    }
    return 0;
}

}  // namespace

int run_cli(int argc, const char* const* argv, std::ostream& out_stream, std::ostream& err_stream) {
    // The ranks > 0 of an MPI job print nothing: rank 0 speaks for the job.
    std::ostream silent(nullptr);
    const bool speaks = job_info().rank == 0;
    std::ostream& out = speaks ? out_stream : silent;
    std::ostream& err = speaks ? err_stream : silent;
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
            out << "accsim " << api::version() << "\n";
            return 0;
        }
        const JobInfo job = job_info();
        if (job.size > 1 && !job_mpi_built())
            throw UsageError("mpirun",
                             "this accsim was built without MPI (-DACCSIM_MPI=OFF): each process "
                             "would run the whole job; start it once, or split a sweep with "
                             "--shard K/N");
        if (job.size > 1 && command != "sweep" && command != "audit")
            throw UsageError(command,
                             "runs in one process: start it without mpirun (sweep and audit "
                             "spread over an MPI job's ranks)");
        if (command == "audit") return cmd_audit(args, out);
        if (command == "sweep-merge") return cmd_sweep_merge(args, out);
        if (command == "run") return cmd_run(args, out);
        if (command == "inspect") return cmd_inspect(args, out);
        if (command == "validate") return cmd_validate(args, out);
        if (command == "sweep") return cmd_sweep(args, out, err);
        throw UsageError(
            command,
            "unknown command (commands: run, audit, sweep, sweep-merge, inspect, validate; see "
            "accsim --help)");
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
