// replay_float() of api/accsim.h: a GEMM of float (or integer) operands through float stages,
// with the parts an audit of a float layer uses (FloatAccumulator, FloatStats, the report's
// "float" and "overflow" objects), keeping every output.
#include <algorithm>
#include <cmath>

#include "api/accsim.h"
#include "config/hw_config.h"
#include "datapath/float_accumulator.h"
#include "datapath/float_packed.h"
#include "datapath/float_stats.h"
#include "datapath/input_error.h"
#include "datapath/parallel_for.h"
#include "engine/report_json.h"

namespace accsim::api {

namespace {

const char* const k_file = "replay";

std::vector<FloatValue> scales(const char* name, const std::vector<float>& f32,
                               const std::vector<uint8_t>& e8m0, int64_t rows, int64_t blocks) {
    const std::size_t n = static_cast<std::size_t>(rows * blocks);
    std::vector<FloatValue> out(n, integer_value(1));
    if (!f32.empty() && !e8m0.empty())
        throw InputError(k_file, name, "give F32 scales or E8M0 codes, not both");
    const std::size_t given = f32.empty() ? e8m0.size() : f32.size();
    if (given == 0) return out;
    if (given != n)
        throw InputError(k_file, name,
                         "expected " + std::to_string(rows) + " x " + std::to_string(blocks) +
                             " block scales, got " + std::to_string(given) + " values");
    static const FloatFormat fp32 = register_format(8, 23);
    for (std::size_t i = 0; i < n; ++i) {
        if (!f32.empty()) {
            if (!(std::isfinite(f32[i]) && f32[i] > 0))
                throw InputError(k_file, name,
                                 "block scale " + std::to_string(f32[i]) + " at " +
                                     std::to_string(i) + " is not a positive finite number");
            out[i] = float_value(f32[i], fp32);
        } else if (e8m0[i] == 255) {
            out[i] = FloatValue{};
            out[i].cls = FloatClass::nan;
        } else {
            out[i] = FloatValue{};
            out[i].sig = 1;
            out[i].exp = out[i].lsb = static_cast<int>(e8m0[i]) - 127;
        }
    }
    return out;
}

}  // namespace

FloatReplayResult replay_float(const FloatReplayRequest& q) {
    if (q.rows < 0 || q.channels < 1 || q.k < 1)
        throw InputError(k_file, "x", "expected x [rows, K] and w [channels, K] with K >= 1");
    if (q.k > k_max_dot_length) throw InputError(k_file, "x", "K is too long");
    if (q.x.size() != static_cast<std::size_t>(q.rows * q.k) ||
        q.w.size() != static_cast<std::size_t>(q.channels * q.k))
        throw std::logic_error("replay_float: operand sizes");
    if (q.x_format.empty() != q.w_format.empty())
        throw InputError(k_file, q.x_format.empty() ? "x" : "w",
                         "both operands are float (a format) or both integer");
    const bool integer = q.x_format.empty();
    const FloatFormat* fx = nullptr;
    const FloatFormat* fw = nullptr;
    if (!integer) {
        fx = find_operand_float_format(q.x_format);
        fw = find_operand_float_format(q.w_format);
        if (!fx || !fw)
            throw InputError(k_file, fx ? "w_format" : "x_format",
                             "unknown float format \"" + (fx ? q.w_format : q.x_format) +
                                 "\" (valid: " + operand_float_format_names() + ")");
    }
    accsim::ConfigSources src;
    src.acc = q.acc;
    const AccumulatorSpec acc = load_config(src).accumulator;
    if (!acc.has_float())
        throw InputError(
            "--acc", q.acc,
            "a float replay needs float stages, e.g. e8m23 or 128xe8m13:g32:f13:rz,e8m23");
    if (integer && acc.first_float() == 0)
        throw InputError("--acc", q.acc,
                         "integer operands go through integer stages first, e.g. 128x32,e8m23");
    if (!integer && acc.first_float() != 0)
        throw InputError("--acc", q.acc, "float operands need float stages from the first on");
    const int64_t blocks = q.block ? (q.k + q.block - 1) / q.block : 0;
    if (q.block < 0) throw InputError(k_file, "block", "expected a positive block length");
    std::vector<FloatValue> xs, ws;
    if (q.block) {
        xs = scales("x_block_scale", q.x_scale, q.x_scale_e8m0, q.rows, blocks);
        ws = scales("w_block_scale", q.w_scale, q.w_scale_e8m0, q.channels, blocks);
        FloatAccumulator probe(acc);
        const int j = probe.scaling_stage(integer);
        const bool pow2 = q.x_scale.empty() && q.w_scale.empty();
        if (j < 0 && !pow2)
            throw InputError(k_file, "block",
                             "with a single float stage, block scales must be powers of two "
                             "(E8M0 codes)");
        const int64_t span = probe.scaling_span(integer, q.k);
        if (j >= 0 && span < q.k && q.block % span != 0)
            throw InputError(k_file, "block",
                             "each scaled tile of " + std::to_string(span) +
                                 " products must lie inside one block of " +
                                 std::to_string(q.block));
    }
    // Operands decoded once.
    std::vector<FloatValue> xv, wv;
    if (!integer) {
        xv.resize(q.x.size());
        wv.resize(q.w.size());
        for (std::size_t i = 0; i < q.x.size(); ++i) xv[i] = fx->decode(q.x[i]);
        for (std::size_t i = 0; i < q.w.size(); ++i) wv[i] = fw->decode(q.w[i]);
    } else {
        for (const auto* v : {&q.x, &q.w})
            for (uint32_t c : *v) {
                const int32_t i = static_cast<int32_t>(c);
                if (i < -65536 || i > 65535)
                    throw InputError(k_file, v == &q.x ? "x" : "w",
                                     "integer operand " + std::to_string(i) +
                                         " is wider than 16 bits (signed or unsigned)");
            }
    }
    // The same operands packed for the vectorized first stage, and which rows are finite.
    PackedFloats xp, wp;
    std::vector<char> x_finite(static_cast<std::size_t>(q.rows), 1),
        w_finite(static_cast<std::size_t>(q.channels), 1);
    int exact_base = 0;
    bool exact_in_64 = false;
    if (!integer) {
        pack_floats(xv.data(), static_cast<int64_t>(xv.size()), fx->mantissa_bits, xp);
        pack_floats(wv.data(), static_cast<int64_t>(wv.size()), fw->mantissa_bits, wp);
        for (std::size_t i = 0; i < xv.size(); ++i)
            if (xv[i].cls != FloatClass::finite) x_finite[i / static_cast<std::size_t>(q.k)] = 0;
        for (std::size_t i = 0; i < wv.size(); ++i)
            if (wv[i].cls != FloatClass::finite) w_finite[i / static_cast<std::size_t>(q.k)] = 0;
        exact_in_64 = exact_fits_int64(*fx, *fw, q.k, exact_base);
    }
    FloatReplayResult r;
    r.rows = q.rows;
    r.channels = q.channels;
    r.stages = static_cast<int64_t>(acc.stages.size());
    const std::size_t outputs = static_cast<std::size_t>(q.rows * q.channels);
    r.values.resize(outputs);
    r.exact.resize(outputs);
    r.events.resize(outputs * acc.stages.size());
    if (q.threads < 0 || q.threads > 4096)
        throw InputError(k_file, "threads", "expected 0..4096, got " + std::to_string(q.threads));
    const int threads = q.threads == 0 ? default_threads() : q.threads;
    const int64_t tasks = (q.rows + 15) / 16;
    std::vector<FloatStats> stats(static_cast<std::size_t>(tasks), FloatStats(acc.stages.size()));
    parallel_for(tasks, threads, [&](int64_t t) {
        FloatAccumulator a(acc);
        FloatDot d;
        // Channels outside, the task's 16 rows inside: each weight row is read once per task.
        for (int64_t c = 0; c < q.channels; ++c)
            for (int64_t row = t * 16; row < std::min(q.rows, t * 16 + 16); ++row) {
                DotInputs in;
                in.k = q.k;
                if (integer) {
                    in.xi = reinterpret_cast<const int32_t*>(q.x.data()) + row * q.k;
                    in.wi = reinterpret_cast<const int32_t*>(q.w.data()) + c * q.k;
                } else {
                    in.x = xv.data() + row * q.k;
                    in.w = wv.data() + c * q.k;
                    if (x_finite[static_cast<std::size_t>(row)] &&
                        w_finite[static_cast<std::size_t>(c)]) {
                        in.x_sig = xp.sig.data() + row * q.k;
                        in.x_exp = xp.exp.data() + row * q.k;
                        in.w_sig = wp.sig.data() + c * q.k;
                        in.w_exp = wp.exp.data() + c * q.k;
                        in.mantissa_sum = fx->mantissa_bits + fw->mantissa_bits;
                        in.exact_in_64 = exact_in_64;
                        in.exact_base = exact_base;
                    }
                }
                if (q.block) {
                    in.block = q.block;
                    in.x_scale = xs.data() + row * blocks;
                    in.w_scale = ws.data() + c * blocks;
                }
                a.run(in, d);
                const std::size_t o = static_cast<std::size_t>(row * q.channels + c);
                r.values[o] = d.value;
                r.exact[o] = d.exact;
                for (std::size_t j = 0; j < acc.stages.size(); ++j)
                    r.events[o * acc.stages.size() + j] = d.events[j];
                stats[static_cast<std::size_t>(t)].add(d);
            }
    });
    FloatStats all(acc.stages.size());
    for (const FloatStats& s : stats) all.merge(s);
    r.floating = float_json(all);
    OverflowStats ov(acc.stages.size());
    ov.outputs = all.outputs;
    ov.events_by_stage = all.events_by_stage;
    ov.events = all.events();
    ov.outputs_with_events = all.outputs_with_events;
    ov.outputs_corrupted = all.inexact;
    ov.has_real_error = false;
    r.overflow = overflow_json(ov);
    r.overflow["transient_outputs"] = nullptr;
    r.overflow["max_abs_error"] = all.max_abs_error;
    r.overflow["mean_abs_error"] = all.mean_abs_error();
    return r;
}

}  // namespace accsim::api
