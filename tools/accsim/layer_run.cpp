#include "layer_run.h"

#include <memory>

#include "datapath/input_error.h"

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

// SCALE-Sim counts words of one byte, whatever the operands' widths.
ElementBytes bytes_for(const HwConfig& config, ElementBytes native) {
    return config.timing.convention == TimingConvention::scalesim ? ElementBytes{1, 1, 1, 1}
                                                                  : native;
}

void require_hardware(const HwConfig& config) {
    if (!config.array || !config.memory)
        throw InputError("--config", config.array ? "/memory" : "/array",
                         "run needs the hardware: a config with an array and a memory section");
}

}  // namespace

std::vector<LayerTiming> run_timing(const std::vector<LayerWork>& layers, const HwConfig& config,
                                    const SimOptions& options) {
    require_hardware(config);
    if (options.mode == SimMode::cycle && config.array->kind == ArrayKind::tensor_core)
        throw InputError("command line", "--mode",
                         "cycle mode models systolic arrays and vector units, not tensor cores");
    std::vector<LayerJob> jobs;
    for (const LayerWork& w : layers) {
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
    if (options.mode == SimMode::cycle) {
        if (config.array->kind == ArrayKind::tensor_core)
            throw InputError(
                "command line", "--mode",
                "cycle mode models systolic arrays and vector units, not tensor cores");
        for (const LayerSpec* l : layers)
            if (l->macs() > k_max_cycle_macs)
                throw InputError("command line", "--mode",
                                 "cycle mode clocks every PE and is for small layers: \"" +
                                     l->name + "\" has " + std::to_string(l->macs()) +
                                     " MACs (at most " + std::to_string(k_max_cycle_macs) +
                                     "); use --mode tlm, or --layers to pick small ones");
    }
    std::vector<std::unique_ptr<LayerBinding>> bindings;
    std::vector<std::unique_ptr<AuditSink>> sinks;
    std::vector<LayerJob> jobs;
    for (const LayerSpec* l : layers) {
        bindings.push_back(std::make_unique<LayerBinding>(*l, config));
        sinks.push_back(std::make_unique<AuditSink>(
            *bindings.back(), config.accumulator.stages.size(), manifest_path));
        LayerJob job;
        job.work = bindings.back()->work();
        job.bytes = bytes_for(config, element_bytes(*l, config.accumulator));
        job.values = bindings.back().get();
        job.sink = sinks.back().get();
        jobs.push_back(job);
    }
    const std::vector<LayerTiming> timings =
        simulate(*config.array, *config.memory, config.accumulator, jobs, options);
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
