// The Session of api/accsim.h: a trace and a configuration loaded once, and every report made
// from them through the engine's one pipeline (engine/pipeline.h).
#include <filesystem>
#include <fstream>

#include "accsim_version.h"
#include "api/accsim.h"
#include "config/hw_config.h"
#include "datapath/parallel_for.h"
#include "engine/audit_units.h"
#include "engine/float_audit.h"
#include "engine/layer_audit.h"
#include "engine/layer_binding.h"
#include "engine/layer_selection.h"
#include "engine/output_dump.h"
#include "engine/pipeline.h"
#include "engine/report_json.h"
#include "engine/run_setup.h"
#include "models/timing_replay.h"
#include "report/inspect.h"
#include "scalesim/scalesim.h"
#include "sim/layer_run.h"
#include "sweep/sweep.h"
#include "sweep/sweep_merge.h"
#include "traces/trace.h"

namespace accsim::api {

namespace {

accsim::ConfigSources engine_sources(const ConfigSources& c) {
    if (!c.file && !c.acc)
        throw InputError("command line", "--config", "give --config FILE or --acc SPEC");
    accsim::ConfigSources s;
    s.file = c.file;
    s.sets = c.sets;
    s.acc = c.acc;
    return s;
}

int thread_count(int threads) {
    ReportOptions o;
    o.threads = threads;
    check(o);
    return threads == 0 ? default_threads() : threads;
}

// What a run needs beyond an audit's config: the hardware.
void require_run_hardware(const HwConfig& config, const ConfigSources& sources) {
    const std::string file = sources.file ? *sources.file : "--acc";
    if (!config.array)
        throw InputError(file, "/", "run needs an \"array\" (see configs/README.md)");
    if (!config.memory)
        throw InputError(
            file, "/", "run needs a \"memory\" section (buffers and DRAM; see configs/README.md)");
}

SimOptions sim_run_options(const HwConfig& config, const SimRunOptions& sim, int threads) {
    check(sim);
    SimOptions o = sim_options(config, sim.cycle_mode ? SimMode::cycle : SimMode::tlm, sim.vcd);
    o.threads = threads;
    return o;
}

}  // namespace

void check(const ReportOptions& options) {
    if (options.threads < 0 || options.threads > 4096)
        throw InputError(
            "command line", "--threads",
            "expected a thread count in [1, 4096], got " + std::to_string(options.threads));
}

void check(const SweepRequest& request) {
    for (const std::string& g : request.grid) parse_grid(g);
    if (request.shard_n != 0 || request.shard_k != 0) {
        if (request.shard_n < 1 || request.shard_n > k_max_shards || request.shard_k < 1 ||
            request.shard_k > request.shard_n)
            throw InputError("command line", "--shard",
                             "expected k/N with 1 <= k <= N <= " + std::to_string(k_max_shards) +
                                 ", got " + std::to_string(request.shard_k) + "/" +
                                 std::to_string(request.shard_n));
        if (request.out.empty())
            throw InputError("command line", "--shard", "a shard needs --out DIR");
    }
}

Json merge_sweep_shards(const std::string& out, const std::vector<std::string>& shard_dirs) {
    return accsim::merge_sweep_shards(out, shard_dirs);
}

std::vector<std::string> parse_acc_grid(const std::string& layouts) {
    return accsim::parse_acc_grid(layouts);
}

void check_run_config(const ConfigSources& config) {
    require_run_hardware(load_config(engine_sources(config)), config);
}

std::string inspect(const std::string& trace, const std::string& layers) {
    const Trace t = Trace::load(trace);
    return render_inspect(t, select_layers(t, layers));
}

void check(const SimRunOptions& sim) {
    if (!sim.vcd.empty() && !sim.cycle_mode)
        throw InputError("command line", "--vcd", "a waveform needs --mode cycle");
    if (!sim.vcd.empty()) {
        // SystemC would only say "cannot open trace file": check the path first.
        const std::string& v = sim.vcd;
        if (v.size() < 5 || v.compare(v.size() - 4, 4, ".vcd") != 0)
            throw InputError("command line", "--vcd",
                             "expected a file name ending in .vcd, got \"" + v + "\"");
        if (std::filesystem::is_directory(v))
            throw InputError(v, "--vcd", "is a directory, not a file");
        std::ofstream probe(v, std::ios::app);
        if (!probe) throw InputError(v, "--vcd", "cannot write here (does the directory exist?)");
    }
}

std::string version() {
    return k_version;
}

Json effective_config(const ConfigSources& config) {
    return load_config(engine_sources(config)).effective;
}

namespace {

// --dump-outputs: every layer's kept outputs into `dir` (nothing when dir is empty).
void dump_outputs(const std::string& dir, const std::vector<LayerAudit>& audits) {
    if (dir.empty()) return;
    std::vector<const LayerSpec*> layers;
    std::vector<const OutputDump*> dumps;
    for (const LayerAudit& a : audits) {
        layers.push_back(a.layer);
        dumps.push_back(a.outputs.get());
    }
    write_output_dumps(dir, layers, dumps);
}

}  // namespace

struct Session::Impl {
    ConfigSources sources;
    HwConfig config;
    Trace trace;
};

Session::Session(const std::string& trace, const ConfigSources& config)
    : m(std::make_unique<Impl>(
          Impl{config, load_config(engine_sources(config)), Trace::load(trace)})) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

const Json& Session::config() const {
    return m->config.effective;
}

Json Session::audit(const ReportOptions& options) const {
    const int threads = thread_count(options.threads);
    const std::vector<const LayerSpec*> layers = select_layers(m->trace, options.layers);
    const bool keep = !options.dump_outputs.empty();
    const std::vector<LayerAudit> audits =
        options.pool ? audit_layers_on(*options.pool, layers, m->config, m->trace.manifest_path(),
                                       threads, keep)
                     : audit_layers(layers, m->config, m->trace.manifest_path(), threads, keep);
    if (options.pool && !options.pool->coordinates()) return Json();  // a rank that only ran units
    dump_outputs(options.dump_outputs, audits);
    std::vector<LayerOutcome> outcomes;
    for (const LayerAudit& a : audits) outcomes.push_back(layer_outcome(a, layer_work(*a.layer)));
    return make_report("audit", trace_section(m->trace, audits.size()), m->config, outcomes);
}

Json Session::run(const ReportOptions& options, const SimRunOptions& sim) const {
    const int threads = thread_count(options.threads);
    require_run_hardware(m->config, m->sources);
    // Float datapaths: values through the float replay, timing from the plain-C++ replay of the
    // same transaction-level model (the SystemC modules hold integer registers).
    bool floating = false;
    for (const LayerSpec* l : select_layers(m->trace, options.layers))
        floating = floating || replays_as_float(*l, m->config.accumulator);
    if (floating) {
        if (sim.cycle_mode || !sim.vcd.empty())
            throw InputError("command line", "--mode",
                             "float datapaths run in tlm mode (the cycle-mode models clock "
                             "integer accumulator registers)");
        if (!sim.scalesim_reports.empty())
            throw InputError("command line", "--scalesim-reports",
                             "not written for float datapaths (run them with --mode tlm "
                             "reports only)");
        return run_timing(options);
    }
    const SimOptions so = sim_run_options(m->config, sim, threads);
    const std::vector<const LayerSpec*> layers = select_layers(m->trace, options.layers);
    const std::vector<LayerRun> runs =
        run_layers(layers, m->config, so, m->trace.manifest_path(), !options.dump_outputs.empty());
    {
        std::vector<LayerAudit> audits;
        for (const LayerRun& r : runs) audits.push_back(r.audit);
        dump_outputs(options.dump_outputs, audits);
    }
    std::vector<LayerOutcome> outcomes;
    for (const LayerRun& r : runs)
        outcomes.push_back(layer_outcome(r.audit, r.work, &r.timing, r.zero_products));
    if (!sim.scalesim_reports.empty()) {
        std::vector<LayerWork> works;
        std::vector<LayerTiming> timings;
        for (const LayerRun& r : runs) {
            works.push_back(r.work);
            timings.push_back(r.timing);
        }
        write_scalesim_reports(sim.scalesim_reports, *m->config.array, works, timings);
    }
    return make_report("run", trace_section(m->trace, runs.size()), m->config, outcomes);
}

Json Session::run_timing(const ReportOptions& options) const {
    const int threads = thread_count(options.threads);
    const HwConfig& c = m->config;
    require_run_hardware(c, m->sources);
    const std::vector<const LayerSpec*> layers = select_layers(m->trace, options.layers);
    const SimOptions so = sim_options(c, SimMode::tlm, "");
    std::vector<LayerWork> works;
    std::vector<TimedLayer> timed;
    for (const LayerSpec* l : layers) {
        works.push_back(layer_work(*l));
        check_size(works.back(), c, so, m->trace.manifest_path());
    }
    for (std::size_t i = 0; i < layers.size(); ++i)
        timed.push_back(
            TimedLayer{works[i], bytes_for(c, element_bytes(*layers[i], c.accumulator))});
    const std::vector<LayerAudit> audits =
        audit_layers(layers, c, m->trace.manifest_path(), threads, !options.dump_outputs.empty());
    dump_outputs(options.dump_outputs, audits);
    const std::vector<LayerTiming> timings =
        replay_timing(*c.array, *c.memory, c.accumulator, timed, c.timing.convention,
                      c.timing.dram_stalls, c.timing.sram_limits);
    std::vector<ZeroProducts> zeros(layers.size());
    parallel_for(static_cast<int64_t>(layers.size()), threads, [&](int64_t i) {
        const LayerBinding b(*layers[i], c);
        zeros[i] = count_zero_products(b.work(), b);
    });
    std::vector<LayerOutcome> outcomes;
    for (std::size_t i = 0; i < layers.size(); ++i)
        outcomes.push_back(layer_outcome(audits[i], works[i], &timings[i], zeros[i]));
    return make_report("run", trace_section(m->trace, layers.size()), c, outcomes);
}

SweepResult Session::sweep(const SweepRequest& request, const ReportOptions& options,
                           const SweepHooks& hooks) const {
    check(request);
    SweepOptions o;
    o.threads = thread_count(options.threads);
    for (const std::string& g : request.grid) o.axes.push_back(parse_grid(g));
    o.accs = request.acc_grid;
    if (o.axes.empty() && o.accs.empty())
        throw InputError("command line", "--grid",
                         "sweep needs at least one --grid PATH=VALUES or --acc-grid");
    o.base = engine_sources(m->sources);
    o.out = request.out;
    o.resume = request.resume;
    o.derive = request.derive;
    if (request.shard_n > 0) o.shard = std::make_pair(request.shard_k, request.shard_n);
    o.pool = request.pool;
    accsim::SweepHooks h;
    h.progress = hooks.progress;
    h.point = hooks.point;
    SweepOutcome r = run_sweep(o, m->trace, select_layers(m->trace, options.layers), h);
    return SweepResult{std::move(r.sweep), r.resumed, r.computed, r.damaged, r.coordinator};
}

Json run_topology(const std::string& csv, bool gemm_format, const ConfigSources& sources,
                  const ReportOptions& options, const SimRunOptions& sim) {
    const int threads = thread_count(options.threads);
    const HwConfig config = load_config(engine_sources(sources));
    require_run_hardware(config, sources);
    const SimOptions so = sim_run_options(config, sim, threads);
    // Timing only: a SCALE-Sim topology has shapes, no values.
    const std::vector<LayerWork> layers =
        select_layers(read_topology(csv, gemm_format ? TopologyFormat::gemm : TopologyFormat::conv),
                      options.layers);
    const std::vector<LayerTiming> timings = accsim::run_timing(layers, config, so, csv);
    std::vector<LayerOutcome> outcomes;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        LayerOutcome o;
        o.work = layers[i];
        o.op = gemm_format ? "gemm" : "conv2d";
        o.timing = &timings[i];
        outcomes.push_back(o);
    }
    const std::string form = gemm_format ? "gemm" : "conv";
    Json source = {{"path", csv},
                   {"model", std::filesystem::path(csv).stem().string()},
                   {"source", "SCALE-Sim topology (" + form + " form), timing only"},
                   {"tensor_files", nullptr},
                   {"layers_in_trace", layers.size()},
                   {"layers_reported", layers.size()}};
    if (!sim.scalesim_reports.empty())
        write_scalesim_reports(sim.scalesim_reports, *config.array, layers, timings);
    return make_report("run", source, config, outcomes);
}

}  // namespace accsim::api
