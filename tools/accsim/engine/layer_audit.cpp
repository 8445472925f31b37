#include "engine/layer_audit.h"

#include "datapath/bounds.h"
#include "datapath/fast_reducer.h"
#include "datapath/parallel_for.h"
#include "engine/float_audit.h"

#include <algorithm>
#include <stdexcept>

namespace accsim {

StaticBounds bound_channels(const OperandFormat& x, const OperandFormat& q, int64_t k,
                            const AccumulatorSpec& acc, const int32_t* weights, int64_t channels,
                            const std::vector<int64_t>& bias, int threads) {
    // Parts of 64 channels in parallel, merged (max and sum: any order gives the same).
    constexpr int64_t k_part = 64;
    const int64_t parts = (channels + k_part - 1) / k_part;
    const StaticBounds empty(x, q, k, acc);
    std::vector<StaticBounds> part(static_cast<std::size_t>(parts), empty);
    parallel_for(parts, threads, [&](int64_t p) {
        for (int64_t c = p * k_part; c < std::min(channels, (p + 1) * k_part); ++c)
            part[p].add_channel(weights + c * k,
                                bias.empty() ? 0 : bias[static_cast<std::size_t>(c)]);
    });
    StaticBounds all = empty;
    for (const StaticBounds& b : part) all.merge(b);
    return all;
}

LayerAudit static_audit(const LayerBinding& binding, const AccumulatorSpec& acc, int threads) {
    const LayerSpec& layer = binding.layer();
    if (replays_as_float(layer, acc) || !layer.has_static_weights())
        return static_audit_with(layer, acc, std::nullopt);
    return static_audit_with(layer, acc,
                             bound_channels(layer.x.format, layer.q.format, layer.shape.k, acc,
                                            binding.lowered().weights(0), layer.shape.channels,
                                            binding.bias_values(), threads));
}

LayerAudit static_audit_with(const LayerSpec& layer, const AccumulatorSpec& acc,
                             std::optional<StaticBounds> bounds) {
    LayerAudit a;
    a.layer = &layer;
    a.overflow = OverflowStats(acc.stages.size());
    if (replays_as_float(layer, acc)) {
        a.floating.emplace(acc.stages.size());  // filled by the replay
        return a;
    }
    a.datatype_bits = datatype_bits(layer.shape.k, layer.x.format, layer.q.format);
    if (layer.has_static_weights()) {
        if (!bounds) throw std::logic_error("static audit: a layer's bounds missing");
        a.bounds = std::move(bounds);
        a.statically_at_risk = a.bounds->channels_at_risk() > 0;
        a.stage1_safe = a.bounds->stages().front().tiles_at_risk == 0;
    } else {
        // Activation x activation: only the formats are known, so a tile is at risk when its
        // data-type bound (the last stage's plus the largest bias) exceeds the stage's width.
        const u128 bias_mag =
            layer.bias && acc.bias != BiasMode::none
                ? std::max(abs_u128(layer.bias->min_value), abs_u128(layer.bias->max_value))
                : 0;
        for (std::size_t j = 0; j < acc.stages.size(); ++j) {
            const bool last = j + 1 == acc.stages.size();
            const int need = datatype_bits(acc.span(j, layer.shape.k), layer.x.format,
                                           layer.q.format, last ? bias_mag : 0);
            a.statically_at_risk = a.statically_at_risk || need > acc.stages[j].bits;
            if (j == 0) a.stage1_safe = need <= acc.stages[j].bits;
        }
    }
    return a;
}

namespace {

// A task of the replay: rows [m0, m0 + k_rows) x channels [n0, n0 + k_cols) of a group. The
// split depends on the layer only, never on the thread count, and results merge in task order:
// the report is the same for any --threads.
constexpr int64_t k_rows = k_task_rows, k_cols = k_task_channels;

}  // namespace

LayerAudit static_audit_at(const LayerAudit& same_layout, const LayerBinding& binding,
                           const AccumulatorSpec& acc) {
    if (!same_layout.bounds) return static_audit(binding, acc);  // formats only: cheap
    LayerAudit a = same_layout;
    a.overflow = OverflowStats(acc.stages.size());
    a.output_verified = false;
    a.bounds = a.bounds->with_widths(acc);
    a.statically_at_risk = a.bounds->channels_at_risk() > 0;
    a.stage1_safe = a.bounds->stages().front().tiles_at_risk == 0;
    return a;
}

LayerAudit audit_layer(const LayerSpec& layer, const HwConfig& config,
                       const std::string& manifest_path, int threads, bool keep_outputs) {
    const LayerBinding binding(layer, config);
    return replay_layer(binding, static_audit(binding, config.accumulator, threads), config,
                        manifest_path, threads, keep_outputs);
}

int64_t replay_tasks(const LayerWork& w) {
    return w.groups * ((w.m + k_rows - 1) / k_rows) * channel_blocks(w);
}

int64_t channel_blocks(const LayerWork& work) {
    return (work.n + k_cols - 1) / k_cols;
}

TaskBlock all_tasks(const LayerWork& work) {
    return TaskBlock{0, work.groups, 0, channel_blocks(work)};
}

std::vector<int64_t> task_indices(const LayerWork& w, const TaskBlock& b) {
    const int64_t row_blocks = (w.m + k_rows - 1) / k_rows, col_blocks = channel_blocks(w);
    std::vector<int64_t> t;
    for (int64_t g = b.g0; g < b.g1; ++g)
        for (int64_t r = 0; r < row_blocks; ++r)
            for (int64_t c = b.c0; c < b.c1; ++c)
                t.push_back((g * row_blocks + r) * col_blocks + c);
    return t;
}

std::vector<OverflowStats> replay_task_block(const LayerBinding& binding, bool stage1_safe,
                                             const HwConfig& config,
                                             const std::string& manifest_path, const TaskBlock& b,
                                             int threads, OutputDump* keep) {
    AuditSink sink(binding, config.accumulator, manifest_path);
    if (keep) sink.keep_outputs(keep);
    const LayerWork& w = binding.work();
    const int64_t row_blocks = (w.m + k_rows - 1) / k_rows;
    const int64_t n_from = b.c0 * k_cols, n_to = std::min(w.n, b.c1 * k_cols);
    const int64_t groups = b.g1 - b.g0, cols_here = b.c1 - b.c0;
    if (groups <= 0 || cols_here <= 0) return {};
    const FastReducer planner(config.accumulator, w.k);
    // Inputs of at most 8 bits (the trace has checked every value) let 8-bit weights take the
    // fast replay's quad layout.
    const bool byte_inputs = binding.layer().x.format.bits <= 8;
    // The weights of the block's channels, packed once per group for the kernels and shared by
    // the tasks. Static weights are packed where they lie; a matmul's rhs columns are gathered
    // first.
    std::vector<PackedWeights> q(static_cast<std::size_t>(groups));
    const bool in_place = binding.group_weights(0) != nullptr;
    std::vector<int32_t> gathered(in_place ? 0 : static_cast<std::size_t>(groups * w.n * w.k));
    // Groups in parallel; a single group's columns in parallel.
    parallel_for(groups, threads, [&](int64_t i) {
        const int64_t g = b.g0 + i;
        const int32_t* group_q = binding.group_weights(g);
        if (!group_q) {
            binding.q_rows(g, gathered.data() + i * w.n * w.k);
            group_q = gathered.data() + i * w.n * w.k;
        }
        q[static_cast<std::size_t>(i)] = planner.pack(group_q + n_from * w.k, n_to - n_from,
                                                      groups == 1 ? threads : 1, byte_inputs);
    });
    const int64_t count = groups * row_blocks * cols_here;
    std::vector<OverflowStats> stats(static_cast<std::size_t>(count),
                                     OverflowStats(config.accumulator.stages.size()));
    parallel_for(count, threads, [&](int64_t i) {
        const int64_t gi = i / (row_blocks * cols_here), rest = i % (row_blocks * cols_here);
        const int64_t g = b.g0 + gi;
        const int64_t m0 = (rest / cols_here) * k_rows, n0 = (b.c0 + rest % cols_here) * k_cols;
        const int64_t rows = std::min(k_rows, w.m - m0), cols = std::min(k_cols, w.n - n0);
        // Megabytes for long dot products: each thread reuses its block (no allocation, no
        // zeroing, no fresh pages per task).
        thread_local std::vector<int32_t> x;
        if (x.size() < static_cast<std::size_t>(rows * w.k))
            x.resize(static_cast<std::size_t>(rows * w.k));
        binding.x_rows(g, m0, m0 + rows, x.data());
        const int64_t* bias = binding.group_bias(g);
        FastReducer reducer(config.accumulator, w.k);
        reducer.set_stage1_safe(stage1_safe);
        OutputBlock block;
        reducer.run(x.data(), rows, q[static_cast<std::size_t>(gi)], n0 - n_from, cols,
                    bias ? bias + n0 : nullptr, block);
        sink.output_block(g, m0, n0, block, stats[static_cast<std::size_t>(i)]);
    });
    return stats;
}

LayerAudit replay_layer(const LayerBinding& binding, LayerAudit a, const HwConfig& config,
                        const std::string& manifest_path, int threads, bool keep_outputs) {
    if (replays_as_float(binding.layer(), config.accumulator))
        return float_audit(binding, config, manifest_path, threads, keep_outputs);
    if (keep_outputs)
        a.outputs = std::make_shared<OutputDump>(binding.layer(), config.accumulator.stages.size(),
                                                 false, config.accumulator.stages.back());
    const std::vector<OverflowStats> stats =
        replay_task_block(binding, a.stage1_safe, config, manifest_path, all_tasks(binding.work()),
                          threads, a.outputs.get());
    for (const OverflowStats& s : stats) a.overflow.merge(s);
    a.output_verified = replay_verifies(binding.layer());
    return a;
}

bool replay_verifies(const LayerSpec& layer) {
    return layer.output && layer.output->info;
}

std::vector<LayerAudit> audit_layers(const std::vector<const LayerSpec*>& layers,
                                     const HwConfig& config, const std::string& manifest_path,
                                     int threads, bool keep_outputs) {
    std::vector<LayerAudit> out(layers.size());
    for (const LayerSpec* l : layers) check_float_pairing(*l, config.accumulator, manifest_path);
    int64_t all_macs = 0;
    for (const LayerSpec* l : layers) all_macs += l->macs();
    std::vector<std::size_t> small;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        if (replays_alone(layers[i]->macs(), all_macs, threads))
            out[i] = audit_layer(*layers[i], config, manifest_path, threads, keep_outputs);
        else
            small.push_back(i);
    }
    parallel_for(static_cast<int64_t>(small.size()), threads, [&](int64_t s) {
        const std::size_t i = small[static_cast<std::size_t>(s)];
        out[i] = audit_layer(*layers[i], config, manifest_path, 1, keep_outputs);
    });
    return out;
}

}  // namespace accsim
