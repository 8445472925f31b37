#include "sim/layer_run.h"

#include <memory>

#include "datapath/input_error.h"
#include "datapath/parallel_for.h"
#include "models/operand_activity.h"

namespace accsim {

namespace {

bool g_systemc_used = false;

// SystemC cannot elaborate twice in one process: say so instead of letting it abort.
void claim_systemc() {
    if (g_systemc_used)
        throw InputError("run", "SystemC",
                         "the SystemC run can happen once per process (SystemC elaborates once); "
                         "use run_timing, the plain-C++ replay that equals it, for more runs");
    g_systemc_used = true;
}

}  // namespace

bool systemc_used() {
    return g_systemc_used;
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
    claim_systemc();
    return simulate(*config.array, *config.memory, config.accumulator, jobs, options);
}

std::vector<LayerRun> run_layers(const std::vector<const LayerSpec*>& layers,
                                 const HwConfig& config, const SimOptions& options,
                                 const std::string& manifest_path, bool keep_outputs) {
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
        if (keep_outputs) {
            audits[i].outputs = std::make_shared<OutputDump>(
                *l, config.accumulator.stages.size(), false, config.accumulator.stages.back());
            sinks.back()->keep_outputs(audits[i].outputs.get());
        }
        LayerJob job;
        job.work = bindings[i]->work();
        job.bytes = bytes_for(config, element_bytes(*l, config.accumulator));
        job.values = bindings[i].get();
        job.sink = sinks.back().get();
        job.stage1_safe = audits[i].stage1_safe;
        jobs.push_back(job);
    }
    claim_systemc();
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
