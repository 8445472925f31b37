#pragma once
// Auditing one layer: the static bounds of its weights, and the replay of every dot product
// through the configured accumulator (the fast replay, datapath/fast_reducer.h, tested equal to
// the reference reducer), checked bit for bit against the trace's recorded outputs. `accsim run`
// reuses the static part and replays in the models.
#include <optional>

#include "config/hw_config.h"
#include "datapath/float_stats.h"
#include "datapath/overflow_stats.h"
#include "datapath/static_bounds.h"
#include "engine/layer_binding.h"
#include "engine/output_dump.h"
#include "traces/trace.h"

namespace accsim {

struct LayerAudit {
    const LayerSpec* layer = nullptr;
    OverflowStats overflow;
    int datatype_bits = 0;
    std::optional<StaticBounds> bounds;  // layers with static weights
    bool output_verified = false;        // the trace's output matched the exact replay
    bool statically_at_risk = false;     // some input in the declared formats could overflow
    // Stage 1 cannot overflow on any input in the declared formats (bias included when it is the
    // last stage): the replay may skip its per-chunk register screen.
    bool stage1_safe = false;
    // Layers replayed through float stages (engine/float_audit.h): their float figures. Integer
    // bounds do not apply to them (bounds stays empty, and the report's "bounds" is null).
    std::optional<FloatStats> floating;
    // Every output, kept when asked for (--dump-outputs).
    std::shared_ptr<OutputDump> outputs;
};

// The static bounds of `channels` channels whose weights (k each, in the datapath's order) are at
// weights + c * k, and their biases (empty: none), bounded in parallel parts of 64 channels on
// `threads` threads and merged: the same result for any thread count.
StaticBounds bound_channels(const OperandFormat& x, const OperandFormat& q, int64_t k,
                            const AccumulatorSpec& acc, const int32_t* weights, int64_t channels,
                            const std::vector<int64_t>& bias, int threads);

// The bounds that need no replay (overflow statistics left empty).
// Channels are bounded on `threads` threads (the result does not depend on it).
LayerAudit static_audit(const LayerBinding& binding, const AccumulatorSpec& acc, int threads = 1);

// The static audit of the same layer under `acc`, from one under an accumulator of the same
// layout (tile lengths, reductions, bias placement) and mapping: its bounds re-evaluated at
// acc's widths, not recomputed from the weights.
LayerAudit static_audit_at(const LayerAudit& same_layout, const LayerBinding& binding,
                           const AccumulatorSpec& acc);

// `manifest_path` names the file in a mismatch error. The replay runs on `threads` threads.
// `keep_outputs`: fill LayerAudit::outputs.
LayerAudit audit_layer(const LayerSpec& layer, const HwConfig& config,
                       const std::string& manifest_path, int threads = 1,
                       bool keep_outputs = false);
// The replay part of audit_layer, given the layer's binding to `config` and its static audit.
LayerAudit replay_layer(const LayerBinding& binding, LayerAudit static_part, const HwConfig& config,
                        const std::string& manifest_path, int threads, bool keep_outputs = false);

// The integer replay in parts, for splitting a layer across processes: the replay is
// replay_tasks() tasks (blocks of rows and channels, fixed by the layer alone); the tasks
// [from, to) give their statistics, one per task, which merged in task order into the static
// part (and output_verified = replay_verifies()) make replay_layer's result exactly. Outputs
// are checked against the trace (InputError on a mismatch) and, with `keep`, recorded.
int64_t replay_tasks(const LayerBinding& binding);
std::vector<OverflowStats> replay_task_range(const LayerBinding& binding,
                                             const LayerAudit& static_part, const HwConfig& config,
                                             const std::string& manifest_path, int64_t from,
                                             int64_t to, int threads, OutputDump* keep = nullptr);
bool replay_verifies(const LayerBinding& binding);

// Whether a layer of `macs` among layers of `all_macs` in all is too big to share `threads`
// threads with others: it then replays on all of them, the others side by side on one each.
inline bool replays_alone(int64_t macs, int64_t all_macs, int threads) {
    return threads > 1 && macs >= all_macs / (4 * static_cast<int64_t>(threads));
}

// Every layer, on `threads` threads, scheduled by replays_alone. Results in layer order, the same
// for any thread count.
std::vector<LayerAudit> audit_layers(const std::vector<const LayerSpec*>& layers,
                                     const HwConfig& config, const std::string& manifest_path,
                                     int threads, bool keep_outputs = false);

}  // namespace accsim
