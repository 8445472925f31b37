#include "layer_run.h"

#include <memory>

#include "datapath/input_error.h"

namespace accsim {

std::vector<LayerRun> run_layers(const std::vector<const LayerSpec*>& layers, const HwConfig& config,
                                 const SimOptions& options, const std::string& manifest_path) {
    if (!config.array || !config.memory)
        throw InputError("--config", config.array ? "/memory" : "/array",
                         "run needs the hardware: a config with an array and a memory section");
    if (options.mode == SimMode::cycle) {
        if (config.array->kind == ArrayKind::tensor_core)
            throw InputError("--mode", "cycle", "cycle mode models systolic arrays and vector units, not tensor cores");
        for (const LayerSpec* l : layers)
            if (l->macs() > k_max_cycle_macs)
                throw InputError("--mode", "cycle",
                                 "cycle mode clocks every PE and is for small layers: \"" + l->name + "\" has " +
                                     std::to_string(l->macs()) + " MACs (at most " + std::to_string(k_max_cycle_macs) +
                                     "); use --mode tlm, or --layers to pick small ones");
    }
    std::vector<std::unique_ptr<LayerBinding>> bindings;
    std::vector<std::unique_ptr<AuditSink>> sinks;
    std::vector<LayerJob> jobs;
    for (const LayerSpec* l : layers) {
        bindings.push_back(std::make_unique<LayerBinding>(*l, config));
        sinks.push_back(std::make_unique<AuditSink>(*bindings.back(), config.accumulator.stages.size(), manifest_path));
        LayerJob job;
        job.work = bindings.back()->work();
        job.bytes = element_bytes(*l, config.accumulator);
        job.values = bindings.back().get();
        job.sink = sinks.back().get();
        jobs.push_back(job);
    }
    const std::vector<LayerTiming> timings = simulate(*config.array, *config.memory, config.accumulator, jobs, options);
    std::vector<LayerRun> out;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        LayerRun r;
        r.audit = static_audit(*bindings[i], config.accumulator);
        r.audit.overflow = std::move(sinks[i]->stats);
        r.audit.output_verified = sinks[i]->verified();
        r.timing = timings.at(i);
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace accsim
