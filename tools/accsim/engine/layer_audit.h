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

// The integer replay in parts, for splitting a layer across processes. The replay is
// replay_tasks() tasks, blocks of 16 rows x 256 channels of a group (fixed by the layer alone),
// numbered group by group, then row block, then channel block; replay_layer merges their
// statistics in that order. A TaskBlock is the tasks of groups [g0, g1) and channel blocks
// [c0, c1): replay_task_block gives their statistics in task order, packing only the weights of
// those channels. Merged with every other block's in task order (task_indices says where each
// one goes) into the static part (and output_verified = replay_verifies()), they make
// replay_layer's result exactly. Outputs are checked against the trace (InputError on a
// mismatch) and, with `keep`, recorded. `stage1_safe`: stage 1 cannot overflow on these
// channels (a hint that skips its screen; the results are the same either way).
constexpr int64_t k_task_rows = 16, k_task_channels = 256;
struct TaskBlock {
    int64_t g0 = 0, g1 = 0;  // groups
    int64_t c0 = 0, c1 = 0;  // blocks of 256 channels
};
int64_t replay_tasks(const LayerWork& work);
TaskBlock all_tasks(const LayerWork& work);
int64_t channel_blocks(const LayerWork& work);
std::vector<int64_t> task_indices(const LayerWork& work, const TaskBlock& block);
std::vector<OverflowStats> replay_task_block(const LayerBinding& binding, bool stage1_safe,
                                             const HwConfig& config,
                                             const std::string& manifest_path,
                                             const TaskBlock& block, int threads,
                                             OutputDump* keep = nullptr);
// The static audit given the bounds of the layer's channels (layers with static weights; the
// others need none), as static_audit computes it.
LayerAudit static_audit_with(const LayerSpec& layer, const AccumulatorSpec& acc,
                             std::optional<StaticBounds> bounds);
bool replay_verifies(const LayerSpec& layer);

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
