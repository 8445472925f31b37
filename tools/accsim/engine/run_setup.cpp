#include "engine/run_setup.h"

#include "datapath/input_error.h"
#include "models/array_kind.h"
#include "models/fold_schedule.h"

namespace accsim {

namespace {

// A cycle-mode layer clocks every PE for every cycle: beyond this it would take minutes.
constexpr double k_max_cycle_pe_updates = 1e8;
// Folds are built in memory: a layer needing more is not a real layer.
constexpr int64_t k_max_folds = int64_t{1} << 24;

}  // namespace

SimOptions sim_options(const HwConfig& config, SimMode mode, const std::string& vcd) {
    SimOptions o;
    o.mode = mode;
    o.vcd_path = vcd;
    o.convention = config.timing.convention;
    o.dram_stalls = config.timing.dram_stalls;
    o.sram_limits = config.timing.sram_limits;
    return o;
}

void require_hardware(const HwConfig& config) {
    if (!config.array || !config.memory)
        throw InputError("--config", config.array ? "/memory" : "/array",
                         "run needs the hardware: a config with an array and a memory section");
}

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
    if (!array_kind_model(a.kind).has_cycle_model())
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

}  // namespace accsim
