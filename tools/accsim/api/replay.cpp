// replay() of api/accsim.h: a GEMM from plain integer matrices through the same parts an audit
// uses (the static bounds, the fast replay in tasks of 16 rows x 256 channels, the report's
// bounds and overflow objects), keeping every output instead of only the statistics.
#include <algorithm>

#include "api/accsim.h"
#include "config/hw_config.h"
#include "datapath/bounds.h"
#include "datapath/fast_reducer.h"
#include "datapath/parallel_for.h"
#include "engine/layer_audit.h"
#include "engine/report_json.h"
#include "traces/trace.h"

namespace accsim::api {

namespace {

const char* const k_file = "replay";

int type_bits(IntType t) {
    switch (t) {
        case IntType::i8:
        case IntType::u8:
            return 8;
        case IntType::i16:
        case IntType::u16:
            return 16;
        case IntType::i32:
            return 32;
    }
    return 32;
}
bool type_signed(IntType t) {
    return t != IntType::u8 && t != IntType::u16;
}

int64_t element(const IntMatrix& m, int64_t r, int64_t c) {
    const int64_t stride = m.row_stride ? m.row_stride : m.cols;
    const int64_t i = r * stride + c;
    switch (m.type) {
        case IntType::i8:
            return static_cast<const int8_t*>(m.data)[i];
        case IntType::u8:
            return static_cast<const uint8_t*>(m.data)[i];
        case IntType::i16:
            return static_cast<const int16_t*>(m.data)[i];
        case IntType::u16:
            return static_cast<const uint16_t*>(m.data)[i];
        case IntType::i32:
            return static_cast<const int32_t*>(m.data)[i];
    }
    return 0;
}

// The operand's format, from the request or its element type, checked.
OperandFormat operand_format(const char* name, const IntMatrix& m, std::optional<int> bits,
                             std::optional<bool> is_signed) {
    OperandFormat f;
    f.is_signed = is_signed.value_or(type_signed(m.type));
    if (!bits && m.type == IntType::i32)
        throw InputError(k_file, name,
                         std::string("int32 values need their width given (") + name +
                             "_bits, 1..16): the datapath's operands have at most 16 bits");
    f.bits = bits.value_or(type_bits(m.type));
    if (f.bits < OperandFormat::k_min_bits || f.bits > OperandFormat::k_max_bits)
        throw InputError(k_file, std::string(name) + "_bits",
                         "expected 1..16 bits, got " + std::to_string(f.bits));
    return f;
}

// The matrix as int32 rows, every value checked against its format.
std::vector<int32_t> read_checked(const char* name, const IntMatrix& m, const OperandFormat& f) {
    std::vector<int32_t> out(static_cast<std::size_t>(m.rows * m.cols));
    for (int64_t r = 0; r < m.rows; ++r)
        for (int64_t c = 0; c < m.cols; ++c) {
            const int64_t v = element(m, r, c);
            if (!f.contains(v))
                throw InputError(k_file, name,
                                 "value " + std::to_string(v) + " at [" + std::to_string(r) + ", " +
                                     std::to_string(c) + "] is outside the declared " +
                                     f.describe());
            out[static_cast<std::size_t>(r * m.cols + c)] = static_cast<int32_t>(v);
        }
    return out;
}

void check_shapes(const ReplayRequest& q) {
    if (!q.x.data || !q.w.data) throw InputError(k_file, q.x.data ? "w" : "x", "no data");
    if (q.x.rows < 0 || q.x.cols < 1)
        throw InputError(k_file, "x", "expected [rows, K] with K >= 1");
    if (q.w.rows < 1 || q.w.cols < 1)
        throw InputError(k_file, "w", "expected [channels, K] with channels, K >= 1");
    if (q.groups < 1 || q.groups > q.w.rows || q.w.rows % q.groups != 0)
        throw InputError(k_file, "groups",
                         "expected a count that divides the " + std::to_string(q.w.rows) +
                             " channels, got " + std::to_string(q.groups));
    if (q.groups == 1 && q.x.cols != q.w.cols)
        throw InputError(k_file, "w",
                         "x has K = " + std::to_string(q.x.cols) + " per row but w has " +
                             std::to_string(q.w.cols));
    if (q.x.cols != q.w.cols * q.groups)
        throw InputError(k_file, "w",
                         "x has " + std::to_string(q.x.cols) +
                             " columns per row but w has K = " + std::to_string(q.w.cols) +
                             " in each of " + std::to_string(q.groups) + " groups");
    if (q.w.cols > k_max_dot_length)
        throw InputError(k_file, "x",
                         "K = " + std::to_string(q.w.cols) + " is longer than the longest dot " +
                             "product accepted (" + std::to_string(k_max_dot_length) + ")");
    for (const IntMatrix* m : {&q.x, &q.w})
        if (m->row_stride != 0 && m->row_stride < m->cols)
            throw InputError(k_file, m == &q.x ? "x" : "w", "row stride shorter than a row");
    if (static_cast<double>(q.x.rows) * static_cast<double>(q.w.rows) >
        static_cast<double>(k_max_outputs))
        throw InputError(k_file, "x", "too many outputs");
}

// The accumulator, exactly as --acc and --set accumulator.bias give it.
AccumulatorSpec accumulator(const ReplayRequest& q) {
    const std::string& b = q.bias_placement;
    if (b != "last" && b != "first" && b != "none")
        throw InputError(k_file, "bias_placement",
                         "expected last, first or none, got \"" + b + "\"");
    accsim::ConfigSources s;
    s.acc = q.acc;
    s.sets.push_back("accumulator.bias=\"" + q.bias_placement + "\"");
    return load_config(s).accumulator;
}

}  // namespace

ReplayResult replay(const ReplayRequest& q) {
    check_shapes(q);
    const AccumulatorSpec acc = accumulator(q);
    const OperandFormat xf = operand_format("x", q.x, q.x_bits, q.x_signed);
    const OperandFormat wf = operand_format("w", q.w, q.w_bits, q.w_signed);
    const int threads = q.threads < 0 || q.threads > 4096
                            ? throw InputError(k_file, "threads",
                                               "expected a thread count in [1, 4096], got " +
                                                   std::to_string(q.threads))
                        : q.threads == 0 ? default_threads()
                                         : q.threads;
    const int64_t rows = q.x.rows, channels = q.w.rows, k = q.w.cols, groups = q.groups;
    const int64_t group_channels = channels / groups;
    std::vector<int32_t> x_all = read_checked("x", q.x, xf);
    // Each group's columns as their own contiguous [rows, K] matrix.
    std::vector<std::vector<int32_t>> x_groups(static_cast<std::size_t>(groups));
    for (int64_t g = 0; g < groups; ++g) {
        std::vector<int32_t>& xg = x_groups[static_cast<std::size_t>(g)];
        if (groups == 1) {
            xg = std::move(x_all);
            break;
        }
        xg.resize(static_cast<std::size_t>(rows * k));
        for (int64_t r = 0; r < rows; ++r)
            std::copy_n(x_all.begin() + r * groups * k + g * k, k, xg.begin() + r * k);
    }
    std::vector<int32_t>().swap(x_all);  // split (or moved): not needed any more
    const std::vector<int32_t> w = read_checked("w", q.w, wf);
    // Keeps exact sums (at most 2^60 from the products) inside 64 bits.
    constexpr int64_t k_max_bias = int64_t{1} << 62;
    std::vector<int64_t> bias;
    if (q.bias) {
        bias.assign(q.bias, q.bias + channels);
        for (int64_t c = 0; c < channels; ++c)
            if (bias[c] > k_max_bias || bias[c] < -k_max_bias)
                throw InputError(k_file, "bias",
                                 "value " + std::to_string(bias[c]) + " at [" + std::to_string(c) +
                                     "] is beyond +-2^62");
    }
    const std::size_t stages = acc.stages.size();

    // The static part, as static_audit does it for a linear layer.
    LayerAudit a;
    a.overflow = OverflowStats(stages);
    a.datatype_bits = datatype_bits(k, xf, wf);
    {
        a.bounds.emplace(bound_channels(xf, wf, k, acc, w.data(), channels, bias, threads));
        a.statically_at_risk = a.bounds->channels_at_risk() > 0;
        a.stage1_safe = a.bounds->stages().front().tiles_at_risk == 0;
    }

    ReplayResult out;
    out.rows = rows;
    out.channels = channels;
    out.stages = static_cast<int64_t>(stages);
    const std::size_t outputs = static_cast<std::size_t>(rows * channels);
    out.values.resize(outputs);
    const bool details = q.details;
    if (details) {
        out.exact.resize(outputs);
        out.events.resize(outputs * stages);
        out.corrupted.resize(outputs);
    }

    // The replay in the audit's tasks (per group: blocks of rows x channels), merged in task
    // order (the same for any thread count).
    // Tasks of about 16 x 256 outputs: groups of few channels (a depthwise convolution's one)
    // take more rows per task instead, so the work per task stays worth a reducer's set-up.
    constexpr int64_t k_cols = 256;
    const int64_t k_rows = std::min<int64_t>(
        4096, 16 * std::max<int64_t>(1, k_cols / std::min(k_cols, group_channels)));
    const FastReducer planner(acc, k);
    // Packed per group: the kernel reads column blocks that start on its packing boundary.
    std::vector<PackedWeights> packed;
    for (int64_t g = 0; g < groups; ++g)
        packed.push_back(planner.pack(w.data() + g * group_channels * k, group_channels,
                                      groups == 1 ? threads : 1));
    const int64_t row_blocks = (rows + k_rows - 1) / k_rows,
                  col_blocks = (group_channels + k_cols - 1) / k_cols;
    const int64_t tasks = groups * row_blocks * col_blocks;
    const bool adds_bias = !bias.empty() && acc.bias != BiasMode::none;
    std::vector<OverflowStats> stats(static_cast<std::size_t>(tasks), OverflowStats(stages));
    parallel_for(tasks, threads, [&](int64_t t) {
        const int64_t g = t / (row_blocks * col_blocks), in_group = t % (row_blocks * col_blocks);
        const int64_t m0 = (in_group / col_blocks) * k_rows;
        const int64_t c0 = (in_group % col_blocks) * k_cols, n0 = g * group_channels + c0;
        const int64_t nr = std::min(k_rows, rows - m0), nc = std::min(k_cols, group_channels - c0);
        FastReducer reducer(acc, k);
        reducer.set_stage1_safe(a.stage1_safe);
        OutputBlock block;
        reducer.run(x_groups[static_cast<std::size_t>(g)].data() + m0 * k, nr,
                    packed[static_cast<std::size_t>(g)], c0, nc, bias.empty() ? nullptr : &bias[n0],
                    block);
        for (int64_t r = 0; r < nr; ++r)
            for (int64_t j = 0; j < nc; ++j) {
                const std::size_t o = static_cast<std::size_t>(r * nc + j);
                const std::size_t at = static_cast<std::size_t>((m0 + r) * channels + n0 + j);
                const int64_t exact = block.exact_dot[o] + (adds_bias ? bias[n0 + j] : 0);
                stats[t].add(block.events.data() + o * stages, block.final_value[o], exact,
                             std::nan(""));
                out.values[at] = block.final_value[o];
                if (!details) continue;
                out.exact[at] = exact;
                out.corrupted[at] = block.final_value[o] != exact;
                for (std::size_t s = 0; s < stages; ++s)
                    out.events[at * stages + s] = block.events[o * stages + s];
            }
        for (std::size_t s = 0; s < stages; ++s) stats[t].observe(s, block.observed[s]);
    });
    for (const OverflowStats& s : stats) a.overflow.merge(s);
    for (std::size_t s = 0; s < stages; ++s)
        out.observed_bits.push_back(a.overflow.observed_by_stage[s].bits());
    out.bounds = bounds_json(a, acc, k, xf, wf, channels);
    out.overflow = overflow_json(a.overflow);
    return out;
}

}  // namespace accsim::api
