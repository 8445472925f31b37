#include "layer_audit.h"

#include <cmath>
#include <limits>

#include "datapath/bounds.h"
#include "datapath/input_error.h"
#include "datapath/reference_reducer.h"
#include "traces/lowering.h"

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

LayerAudit audit_layer(const LayerSpec& layer, const HwConfig& config,
                       const std::string& manifest_path) {
    LayerAudit a;
    a.layer = &layer;
    a.overflow = OverflowStats(config.accumulator.stages.size());
    a.datatype_bits = datatype_bits(layer.shape.k, layer.x.format, layer.q.format);

    const LoweredLayer low(layer, config.k_order);
    const int64_t k = low.k();
    std::vector<int64_t> bias;
    if (layer.bias) bias = read_int64(layer.bias->tensor);
    const AccumulatorSpec& acc = config.accumulator;
    if (layer.has_static_weights()) {
        a.bounds.emplace(layer.x.format, layer.q.format, k, acc);
        for (int64_t c = 0; c < layer.shape.channels; ++c)
            a.bounds->add_channel(low.weights(c), layer.bias ? bias[c] : 0);
        a.statically_at_risk = a.bounds->channels_at_risk() > 0;
    } else {
        // Activation x activation: only the formats are known, so a tile is at risk when its
        // data-type bound (the last stage's plus the largest bias) exceeds the stage's width.
        const u128 bias_mag =
            layer.bias && acc.bias != BiasMode::none
                ? std::max(abs_u128(layer.bias->min_value), abs_u128(layer.bias->max_value))
                : 0;
        for (std::size_t j = 0; j < acc.stages.size(); ++j) {
            const bool last = j + 1 == acc.stages.size();
            const int need =
                datatype_bits(acc.span(j, k), layer.x.format, layer.q.format, last ? bias_mag : 0);
            a.statically_at_risk = a.statically_at_risk || need > acc.stages[j].bits;
        }
    }

    const TensorInfo* expected = layer.output ? layer.output->info : nullptr;
    const std::vector<double> scales = unit_scales(layer);

    ReferenceReducer reducer(config.accumulator);
    DotOutcome d;
    std::vector<int32_t> x(static_cast<std::size_t>(k)), scratch(static_cast<std::size_t>(k));
    std::vector<int64_t> products(static_cast<std::size_t>(k));
    for (int64_t pos = 0; pos < low.positions(); ++pos) {
        low.gather_x(pos, x.data());
        for (int64_t j = 0; j < low.per_position(); ++j) {
            const int32_t* q = low.q(pos, j, scratch.data());
            for (int64_t i = 0; i < k; ++i) products[i] = int64_t{q[i]} * x[i];
            const int64_t c = low.channel(pos, j);
            const std::optional<int64_t> b =
                layer.bias ? std::optional<int64_t>(bias[c]) : std::nullopt;
            reducer.reduce(products.data(), static_cast<std::size_t>(k), b, d);
            a.overflow.add(d, scales[c]);
            if (expected) {
                const int64_t o = low.output_index(pos, j);
                const i128 want = d.exact_dot + (b ? *b : 0);
                const int64_t got = read_int(*expected, o);
                if (got != want)
                    throw InputError(
                        manifest_path, "/layers/" + std::to_string(layer.index) + "/output",
                        "layer \"" + layer.name + "\": " + layer.output->name +
                            index_string(layer.shape.output_shape, o) + " is " +
                            std::to_string(got) + " in the trace, but the exact replay gives " +
                            to_string(want) +
                            (layer.bias ? " (dot product + bias)" : " (dot product)"));
            }
        }
    }
    a.output_verified = expected != nullptr;
    return a;
}

}  // namespace accsim
