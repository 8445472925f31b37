#include "engine/float_audit.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "datapath/float_accumulator.h"
#include "datapath/float_packed.h"
#include "datapath/input_error.h"
#include "datapath/parallel_for.h"

namespace accsim {

bool replays_as_float(const LayerSpec& layer, const AccumulatorSpec& acc) {
    return acc.has_float() || layer.is_float() || layer.has_block_scales();
}

void check_float_pairing(const LayerSpec& layer, const AccumulatorSpec& acc,
                         const std::string& manifest_path) {
    if (!replays_as_float(layer, acc)) return;
    const std::string where = "/layers/" + std::to_string(layer.index) + " (" + layer.name + ")";
    auto fail = [&](const std::string& what) { throw InputError(manifest_path, where, what); };
    if (!acc.has_float()) {
        if (layer.is_float())
            fail(std::string("float operands (") + layer.x.float_format->name + " x " +
                 layer.q.float_format->name +
                 ") need an accumulator with float stages, e.g. --acc e8m23 or "
                 "--acc 128xe8m13:g32:f13:rz,e8m23");
        fail(
            "block scales are applied by a float stage; use an accumulator such as "
            "--acc 128x32,e8m23 (integer tiles of 128 handed to an fp32 register)");
    }
    if (!layer.is_float() && acc.first_float() == 0)
        fail(
            "integer operands go through integer stages first; a float stage can take their exact "
            "tile sums, e.g. --acc 128x32,e8m23");
    if (layer.is_float() && acc.first_float() != 0)
        fail(
            "float operands need float stages from the first stage on (integer stages take "
            "integer operands)");
    if (layer.bias && acc.bias != BiasMode::none)
        fail(
            "the accumulator has float stages, which add no bias; export the layer without one "
            "or set \"bias\": \"none\"");
    if (!layer.has_block_scales()) return;
    const int64_t block =
        layer.x.block_scale ? layer.x.block_scale->block : layer.q.block_scale->block;
    FloatAccumulator probe(acc);
    const bool integer = !layer.is_float();
    if (probe.scaling_stage(integer) < 0) {
        const bool pow2 = (!layer.x.block_scale || layer.x.block_scale->e8m0) &&
                          (!layer.q.block_scale || layer.q.block_scale->e8m0);
        if (!pow2)
            fail(
                "with a single float stage, block scales scale every product inside the steps, "
                "which needs power-of-two (\"e8m0\") scales; F32 scales need a stage to promote "
                "into, e.g. --acc 128xe8m13:g32:f13:rz,e8m23");
        return;
    }
    const int64_t span = probe.scaling_span(integer, layer.shape.k);
    if (span < layer.shape.k && block % span != 0)
        fail("the scaled tiles of " + std::to_string(span) +
             " products must each lie inside one block of " + std::to_string(block) +
             " (make the block a multiple of the tile)");
}

namespace {

// Rows x columns of one task; fixed by the layer, never by the thread count.
constexpr int64_t k_rows = 16, k_cols = 64;

const FloatValue& one() {
    static const FloatValue v = integer_value(1);
    return v;
}

FloatValue scale_value(const BlockScaleSpec& s, int64_t i) {
    if (s.e8m0) {
        const uint32_t code = read_code(*s.tensor.info, i);
        FloatValue v;
        if (code == 255) {
            v.cls = FloatClass::nan;
            return v;
        }
        v.sig = 1;
        v.exp = v.lsb = static_cast<int>(code) - 127;
        return v;
    }
    static const FloatFormat fp32 = register_format(8, 23);
    return float_value(read_f32(*s.tensor.info, i), fp32);
}

// One row of block scales (`blocks` values), or ones.
void scale_row(const std::optional<BlockScaleSpec>& s, int64_t row, int64_t blocks,
               FloatValue* out) {
    for (int64_t b = 0; b < blocks; ++b) out[b] = s ? scale_value(*s, row * blocks + b) : one();
}

// Decodes operand codes (as LoweredLayer keeps them) into values.
class Decoder {
  public:
    explicit Decoder(const FloatFormat& f) : m_format(f) {
        if (f.storage_bits <= 16) {
            m_table.resize(std::size_t{1} << f.storage_bits);
            for (uint32_t c = 0; c < m_table.size(); ++c) m_table[c] = f.decode(c);
        }
    }
    void operator()(const int32_t* codes, int64_t n, FloatValue* out) const {
        if (!m_table.empty()) {
            const uint32_t mask = static_cast<uint32_t>(m_table.size() - 1);
            for (int64_t i = 0; i < n; ++i)
                out[i] = m_table[static_cast<uint32_t>(codes[i]) & mask];
        } else {
            for (int64_t i = 0; i < n; ++i)
                out[i] = m_format.decode(static_cast<uint32_t>(codes[i]));
        }
    }

  private:
    const FloatFormat& m_format;
    std::vector<FloatValue> m_table;
};

bool same_double(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    return std::memcmp(&a, &b, sizeof a) == 0;
}

std::string number_text(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

}  // namespace

LayerAudit float_audit(const LayerBinding& binding, const HwConfig& config,
                       const std::string& manifest_path, int threads, bool keep_outputs) {
    const LayerSpec& layer = binding.layer();
    const AccumulatorSpec& acc = config.accumulator;
    check_float_pairing(layer, acc, manifest_path);
    LayerAudit a;
    a.layer = &layer;
    a.overflow = OverflowStats(acc.stages.size());
    a.floating.emplace(acc.stages.size());
    a.overflow.has_real_error = false;
    if (keep_outputs)
        a.outputs = std::make_shared<OutputDump>(layer, acc.stages.size(), true, acc.stages.back());
    OutputDump* dump = a.outputs.get();
    const LayerWork& w = binding.work();
    const bool integer = !layer.is_float();
    std::optional<Decoder> dx, dq;
    if (!integer) {
        dx.emplace(*layer.x.float_format);
        dq.emplace(*layer.q.float_format);
    }
    const int64_t block = layer.x.block_scale   ? layer.x.block_scale->block
                          : layer.q.block_scale ? layer.q.block_scale->block
                                                : 0;
    const int64_t blocks = block ? (w.k + block - 1) / block : 0;
    const int64_t block_channels = layer.q.block_scale ? layer.q.block_scale->block_channels : 1;
    const TensorInfo* expected = layer.output ? layer.output->info : nullptr;
    int exact_base = 0, mantissa_sum = 0;
    bool exact_in_64 = false;
    if (!integer) {
        exact_in_64 =
            exact_fits_int64(*layer.x.float_format, *layer.q.float_format, w.k, exact_base);
        mantissa_sum = layer.x.float_format->mantissa_bits + layer.q.float_format->mantissa_bits;
    }

    const int64_t row_blocks = (w.m + k_rows - 1) / k_rows,
                  col_blocks = (w.n + k_cols - 1) / k_cols;
    const int64_t tasks = w.groups * row_blocks * col_blocks;
    std::vector<FloatStats> stats(static_cast<std::size_t>(tasks), FloatStats(acc.stages.size()));
    std::vector<OverflowStats> ostats(static_cast<std::size_t>(tasks),
                                      OverflowStats(acc.stages.size()));
    std::vector<int32_t> gathered;
    parallel_for(tasks, threads, [&](int64_t t) {
        const int64_t g = t / (row_blocks * col_blocks), rest = t % (row_blocks * col_blocks);
        const int64_t m0 = (rest / col_blocks) * k_rows, n0 = (rest % col_blocks) * k_cols;
        const int64_t rows = std::min(k_rows, w.m - m0), cols = std::min(k_cols, w.n - n0);
        std::vector<int32_t> x(static_cast<std::size_t>(rows * w.k));
        binding.x_rows(g, m0, m0 + rows, x.data());
        const int32_t* q = binding.group_weights(g);
        std::vector<int32_t> q_own;
        if (!q) {
            q_own.resize(static_cast<std::size_t>(w.n * w.k));
            binding.q_rows(g, q_own.data());
            q = q_own.data();
        }
        std::vector<FloatValue> xv, qv, xs(static_cast<std::size_t>(rows * blocks)),
            qs(static_cast<std::size_t>(blocks));
        // Packed copies for the vectorized first stage, used where both rows are finite.
        PackedFloats xp, qp;
        std::vector<char> x_finite(static_cast<std::size_t>(rows), 1);
        if (!integer) {
            xv.resize(x.size());
            (*dx)(x.data(), rows * w.k, xv.data());
            qv.resize(static_cast<std::size_t>(w.k));
            pack_floats(xv.data(), rows * w.k, layer.x.float_format->mantissa_bits, xp);
            for (std::size_t i = 0; i < xv.size(); ++i)
                if (xv[i].cls != FloatClass::finite)
                    x_finite[i / static_cast<std::size_t>(w.k)] = 0;
        }
        for (int64_t r = 0; r < rows; ++r)
            scale_row(layer.x.block_scale, binding.position(g, m0 + r), blocks,
                      xs.data() + r * blocks);
        FloatAccumulator accumulator(acc);
        FloatDot d;
        FloatStats& fs = stats[static_cast<std::size_t>(t)];
        OverflowStats& os = ostats[static_cast<std::size_t>(t)];
        for (int64_t c = 0; c < cols; ++c) {
            const int64_t n = n0 + c;
            const int32_t* qrow = q + n * w.k;
            if (!integer) {
                (*dq)(qrow, w.k, qv.data());
                pack_floats(qv.data(), w.k, layer.q.float_format->mantissa_bits, qp);
            }
            const int64_t channel = binding.channel(g, n);
            scale_row(layer.q.block_scale, channel / block_channels, blocks, qs.data());
            for (int64_t r = 0; r < rows; ++r) {
                DotInputs in;
                in.k = w.k;
                if (integer) {
                    in.xi = x.data() + r * w.k;
                    in.wi = qrow;
                } else {
                    in.x = xv.data() + r * w.k;
                    in.w = qv.data();
                    if (x_finite[static_cast<std::size_t>(r)] && qp.finite) {
                        in.x_sig = xp.sig.data() + r * w.k;
                        in.x_exp = xp.exp.data() + r * w.k;
                        in.w_sig = qp.sig.data();
                        in.w_exp = qp.exp.data();
                        in.mantissa_sum = mantissa_sum;
                        in.exact_in_64 = exact_in_64;
                        in.exact_base = exact_base;
                    }
                }
                if (block) {
                    in.block = block;
                    in.x_scale = xs.data() + r * blocks;
                    in.w_scale = qs.data();
                }
                accumulator.run(in, d);
                fs.add(d);
                const int64_t idx = binding.lowered().output_index(binding.position(g, m0 + r), n);
                if (dump) dump->set(idx, d);
                if (expected) {
                    const double want = read_f64(*expected, idx);
                    if (!same_double(want, d.exact))
                        throw InputError(manifest_path, layer.output->name,
                                         "layer \"" + layer.name + "\": output at " +
                                             index_string(expected->shape, idx) + " is " +
                                             number_text(want) + " but the exact result is " +
                                             number_text(d.exact));
                }
            }
        }
        // The overflow section: events, and "corrupted" in its one meaning (value != exact).
        os.outputs = fs.outputs;
        for (std::size_t j = 0; j < acc.stages.size(); ++j)
            os.events_by_stage[j] = fs.events_by_stage[j];
        os.events = fs.events();
        os.outputs_with_events = fs.outputs_with_events;
        os.outputs_corrupted = fs.inexact;
        os.has_real_error = false;
    });
    for (std::size_t t = 0; t < stats.size(); ++t) {
        a.floating->merge(stats[t]);
        a.overflow.merge(ostats[t]);
    }
    a.output_verified = expected != nullptr;
    return a;
}

}  // namespace accsim
