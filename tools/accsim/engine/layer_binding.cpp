#include "engine/layer_binding.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "datapath/input_error.h"

namespace accsim {
namespace {

// Real value of one accumulator unit per output channel (input scale x weight scale), or NaN.
std::vector<double> unit_scales(const LayerSpec& l) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> out(static_cast<std::size_t>(l.shape.channels), nan);
    double sx = nan;
    if (l.x.scale)
        sx = *l.x.scale;
    else if (l.x.scale_tensor)
        sx = read_f32(*l.x.scale_tensor->info, 0);
    for (int64_t c = 0; c < l.shape.channels; ++c) {
        double sq = nan;
        if (l.q.scale)
            sq = *l.q.scale;
        else if (l.q.scale_tensor)
            sq = read_f32(*l.q.scale_tensor->info, l.q.scale_tensor->info->numel == 1 ? 0 : c);
        out[c] = sx * sq;
    }
    return out;
}

}  // namespace

LayerWork layer_work(const LayerSpec& l) {
    const LayerShape& sh = l.shape;
    LayerWork w;
    w.name = l.name;
    w.k = sh.k;
    w.x_bits = l.x.stored_bits();
    w.w_bits = l.q.stored_bits();
    w.ifmap_elements = l.x.tensor.info->numel;
    w.filter_elements = l.q.tensor.info->numel;
    switch (l.op) {
        case LayerOp::linear:
            w.groups = 1, w.m = sh.rows, w.n = sh.channels;
            break;
        case LayerOp::conv2d:
            w.groups = l.conv.groups, w.m = sh.batch * sh.out_h * sh.out_w,
            w.n = sh.channels / l.conv.groups;
            break;
        case LayerOp::matmul: {
            int64_t batches = 1;
            for (int64_t e : sh.batch_shape) batches *= e;
            w.groups = batches, w.m = sh.rows, w.n = sh.channels;
            // Every batch multiplies its own lhs and rhs, broadcast or not: the array reads them
            // per batch, so the traffic counts them per batch.
            w.ifmap_elements = batches * sh.rows * sh.k;
            w.filter_elements = batches * sh.k * sh.channels;
            break;
        }
    }
    return w;
}

LayerBinding::LayerBinding(const LayerSpec& layer, const HwConfig& config)
    : m_layer(layer), m_low(layer, config.k_order), m_work(layer_work(layer)) {
    if (layer.bias) m_bias = read_int64(layer.bias->tensor);
    m_scratch.resize(static_cast<std::size_t>(m_work.k));
    m_cached_x.resize(static_cast<std::size_t>(m_work.k));
}

int64_t LayerBinding::position(int64_t group, int64_t m) const {
    const LayerShape& sh = m_layer.shape;
    switch (m_layer.op) {
        case LayerOp::linear:
            return m;
        case LayerOp::matmul:
            return group * sh.rows + m;
        case LayerOp::conv2d: {
            const int64_t pixels = sh.out_h * sh.out_w;
            const int64_t b = m / pixels, pix = m % pixels;
            return (b * m_layer.conv.groups + group) * pixels + pix;
        }
    }
    return 0;
}

int64_t LayerBinding::channel(int64_t group, int64_t n) const {
    return m_layer.op == LayerOp::conv2d ? group * m_work.n + n : n;
}

void LayerBinding::x_rows(int64_t group, int64_t m0, int64_t m1, int32_t* out) const {
    for (int64_t m = m0; m < m1; ++m) m_low.gather_x(position(group, m), out + (m - m0) * m_work.k);
}

void LayerBinding::q_rows(int64_t group, int32_t* out) const {
    std::vector<int32_t> scratch(static_cast<std::size_t>(m_work.k));
    for (int64_t n = 0; n < m_work.n; ++n) {
        const int32_t* w = m_low.q(position(group, 0), n, scratch.data());
        std::copy(w, w + m_work.k, out + n * m_work.k);
    }
}

const int32_t* LayerBinding::group_weights(int64_t group) const {
    if (!m_layer.has_static_weights()) return nullptr;
    return m_low.weights(channel(group, 0));
}

const int64_t* LayerBinding::group_bias(int64_t group) const {
    return m_bias.empty() ? nullptr : m_bias.data() + channel(group, 0);
}

void LayerBinding::x(int64_t group, int64_t m, int64_t k0, int64_t k1, int32_t* out) const {
    const int64_t pos = position(group, m);
    if (pos != m_cached_pos) {
        m_low.gather_x(pos, m_cached_x.data());
        m_cached_pos = pos;
    }
    std::copy(m_cached_x.begin() + k0, m_cached_x.begin() + k1, out);
}

void LayerBinding::q(int64_t group, int64_t n, int64_t k0, int64_t k1, int32_t* out) const {
    // Static weights ignore the position; a matmul's rhs column depends on the batch only.
    const int32_t* w = m_low.q(position(group, 0), n, m_scratch.data());
    std::copy(w + k0, w + k1, out);
}

std::optional<int64_t> LayerBinding::bias(int64_t group, int64_t n) const {
    if (m_bias.empty()) return std::nullopt;
    return m_bias[static_cast<std::size_t>(channel(group, n))];
}

ElementBytes element_bytes(const LayerSpec& layer, const AccumulatorSpec& acc) {
    ElementBytes b;
    b.ifmap = layer.x.stored_bits() / 8.0;
    b.filter = layer.q.stored_bits() / 8.0;
    b.output = acc.stages.back().bits / 8.0;
    b.psum = acc.stages.front().bits / 8.0;
    return b;
}

AuditSink::AuditSink(const LayerBinding& binding, const AccumulatorSpec& acc,
                     std::string manifest_path)
    : stats(acc.stages.size()),
      m_binding(binding),
      m_expected(binding.layer().output ? binding.layer().output->info : nullptr),
      m_bias_mode(acc.bias),
      m_scales(unit_scales(binding.layer())),
      m_manifest_path(std::move(manifest_path)) {}

void AuditSink::output(int64_t group, int64_t m, int64_t n, const DotOutcome& d) {
    const int64_t c = m_binding.channel(group, n);
    stats.add(d, m_scales[static_cast<std::size_t>(c)]);
    if (m_dump) {
        std::vector<uint32_t> ev(d.events_by_stage.size());
        for (std::size_t j = 0; j < ev.size(); ++j)
            ev[j] = static_cast<uint32_t>(std::min<uint64_t>(d.events_by_stage[j], UINT32_MAX));
        m_dump->set(m_binding.lowered().output_index(m_binding.position(group, m), n),
                    d.final_value, d.exact, ev.data());
    }
    check(group, m, n, d.exact_dot);
}

void AuditSink::output_block(int64_t group, int64_t m0, int64_t n0, const OutputBlock& b,
                             OverflowStats& into) const {
    const std::vector<int64_t>& bias = m_binding.bias_values();
    const bool adds_bias = !bias.empty() && m_bias_mode != BiasMode::none;
    // linear and matmul outputs of a row lie side by side (output_index(pos, n) = pos * N + n):
    // compared in place, the full check (and its message) only on a difference.
    const bool side_by_side = m_expected && m_binding.layer().op != LayerOp::conv2d;
    const int64_t channels = m_binding.layer().shape.channels;
    for (int64_t r = 0; r < b.rows; ++r) {
        const int64_t row_at = side_by_side ? m_binding.position(group, m0 + r) * channels : 0;
        for (int64_t j = 0; j < b.cols; ++j) {
            const std::size_t o = static_cast<std::size_t>(r * b.cols + j);
            const std::size_t c = static_cast<std::size_t>(m_binding.channel(group, n0 + j));
            const i128 exact = i128{b.exact_dot[o]} + (adds_bias ? bias[c] : 0);
            into.add(b.events.data() + o * b.stages, b.final_value[o], exact, m_scales[c]);
            if (m_dump)
                m_dump->set(
                    m_binding.lowered().output_index(m_binding.position(group, m0 + r), n0 + j),
                    b.final_value[o], exact, b.events.data() + o * b.stages);
            if (side_by_side) {
                const i128 want = i128{b.exact_dot[o]} + (bias.empty() ? 0 : bias[c]);
                if (read_int(*m_expected, row_at + n0 + j) == want) continue;
            }
            check(group, m0 + r, n0 + j, b.exact_dot[o]);
        }
    }
    for (std::size_t j = 0; j < b.stages; ++j) into.observe(j, b.observed[j]);
}

void AuditSink::check(int64_t group, int64_t m, int64_t n, i128 exact_dot) const {
    if (!m_expected) return;
    const LayerSpec& l = m_binding.layer();
    const int64_t c = m_binding.channel(group, n);
    const int64_t pos = m_binding.position(group, m);
    const int64_t o = m_binding.lowered().output_index(pos, n);  // within a position, j is n
    const std::vector<int64_t>& bias = m_binding.bias_values();
    const i128 want = exact_dot + (bias.empty() ? 0 : bias[static_cast<std::size_t>(c)]);
    const int64_t got = read_int(*m_expected, o);  // from the mapped file: no copy
    if (got != want)
        throw InputError(m_manifest_path, "/layers/" + std::to_string(l.index) + "/output",
                         "layer \"" + l.name + "\": " + l.output->name +
                             index_string(l.shape.output_shape, o) + " is " + std::to_string(got) +
                             " in the trace, but the exact replay gives " + to_string(want) +
                             (bias.empty() ? " (dot product)" : " (dot product + bias)"));
}

}  // namespace accsim
