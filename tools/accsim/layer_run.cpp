#include "layer_run.h"

#include <memory>

#include "datapath/input_error.h"
#include "datapath/parallel_for.h"
#include "models/operand_activity.h"

namespace accsim {

SimOptions sim_options(const HwConfig& config, SimMode mode, const std::string& vcd) {
    SimOptions o;
    o.mode = mode;
    o.vcd_path = vcd;
    o.convention = config.timing.convention;
    o.dram_stalls = config.timing.dram_stalls;
    o.sram_limits = config.timing.sram_limits;
    return o;
}

namespace {

void require_hardware(const HwConfig& config) {
    if (!config.array || !config.memory)
        throw InputError("--config", config.array ? "/memory" : "/array",
                         "run needs the hardware: a config with an array and a memory section");
}

// A cycle-mode layer clocks every PE for every cycle: beyond this it would take minutes.
constexpr double k_max_cycle_pe_updates = 1e8;
// Folds are built in memory: a layer needing more is not a real layer.
constexpr int64_t k_max_folds = int64_t{1} << 24;

}  // namespace

ElementBytes bytes_for(const HwConfig& config, ElementBytes native) {
    return config.timing.convention == TimingConvention::scalesim ? ElementBytes{1, 1, 1, 1}
                                                                  : native;
}

void check_size(const LayerWork& w, const HwConfig& config, const SimOptions& options,
                const std::string& file) {
    const ArraySpec& a = *config.array;
    const int64_t folds = fold_count(a, w);
    if (folds > k_max_folds)
        throw InputError(file, "layer \"" + w.name + "\"",
                         "needs " + std::to_string(folds) + " folds on this array (at most " +
                             std::to_string(k_max_folds) + ")");
    if (options.mode != SimMode::cycle) return;
    if (a.kind == ArrayKind::tensor_core)
        throw InputError("command line", "--mode",
                         "cycle mode models systolic arrays and vector units, not tensor cores");
    const FoldSchedule s = schedule_folds(a, w, options.convention);
    const double updates = static_cast<double>(s.compute_cycles()) * s.pe_count;
    if (updates > k_max_cycle_pe_updates)
        throw InputError(
            "command line", "--mode",
            "cycle mode clocks every PE and is for small arrays and layers: \"" + w.name +
                "\" needs " + std::to_string(static_cast<int64_t>(updates)) +
                " PE-cycles (at most 100000000); use --mode tlm, or --layers to pick small ones");
}

std::vector<LayerTiming> run_timing(const std::vector<LayerWork>& layers, const HwConfig& config,
                                    const SimOptions& options, const std::string& source_path) {
    require_hardware(config);
    std::vector<LayerJob> jobs;
    for (const LayerWork& w : layers) {
        check_size(w, config, options, source_path);
        LayerJob job;
        job.work = w;
        job.bytes = bytes_for(config, ElementBytes{1, 1, 4, 4});
        jobs.push_back(job);
    }
    return simulate(*config.array, *config.memory, config.accumulator, jobs, options);
}

std::vector<LayerRun> run_layers(const std::vector<const LayerSpec*>& layers,
                                 const HwConfig& config, const SimOptions& options,
                                 const std::string& manifest_path) {
    require_hardware(config);
    std::vector<std::unique_ptr<LayerBinding>> bindings;
    std::vector<std::unique_ptr<AuditSink>> sinks;
    std::vector<LayerJob> jobs;
    // The bindings and static bounds of every layer, layers side by side (independent work).
    bindings.resize(layers.size());
    std::vector<LayerAudit> audits(layers.size());
    parallel_for(static_cast<int64_t>(layers.size()), options.threads, [&](int64_t i) {
        bindings[i] = std::make_unique<LayerBinding>(*layers[i], config);
        audits[i] = static_audit(*bindings[i], config.accumulator);
    });
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const LayerSpec* l = layers[i];
        check_size(bindings[i]->work(), config, options, manifest_path);
        sinks.push_back(
            std::make_unique<AuditSink>(*bindings[i], config.accumulator, manifest_path));
        LayerJob job;
        job.work = bindings[i]->work();
        job.bytes = bytes_for(config, element_bytes(*l, config.accumulator));
        job.values = bindings[i].get();
        job.sink = sinks.back().get();
        job.stage1_safe = audits[i].stage1_safe;
        jobs.push_back(job);
    }
    const std::vector<LayerTiming> timings =
        simulate(*config.array, *config.memory, config.accumulator, jobs, options);
    std::vector<LayerRun> out(layers.size());
    parallel_for(static_cast<int64_t>(layers.size()), options.threads, [&](int64_t i) {
        LayerRun& r = out[i];
        r.audit = std::move(audits[i]);
        r.audit.overflow = std::move(sinks[i]->stats);
        r.audit.output_verified = sinks[i]->verified();
        r.timing = timings.at(i);
        r.work = bindings[i]->work();
        r.zero_products = count_zero_products(r.work, *bindings[i]);
    });
    return out;
}

}  // namespace accsim
