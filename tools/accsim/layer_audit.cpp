#include "layer_audit.h"

#include "datapath/bounds.h"
#include "datapath/reference_reducer.h"

namespace accsim {

LayerAudit static_audit(const LayerBinding& binding, const AccumulatorSpec& acc) {
    const LayerSpec& layer = binding.layer();
    LayerAudit a;
    a.layer = &layer;
    a.overflow = OverflowStats(acc.stages.size());
    a.datatype_bits = datatype_bits(layer.shape.k, layer.x.format, layer.q.format);
    const std::vector<int64_t>& bias = binding.bias_values();
    if (layer.has_static_weights()) {
        a.bounds.emplace(layer.x.format, layer.q.format, layer.shape.k, acc);
        for (int64_t c = 0; c < layer.shape.channels; ++c)
            a.bounds->add_channel(binding.lowered().weights(c),
                                  bias.empty() ? 0 : bias[static_cast<std::size_t>(c)]);
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
            const int need = datatype_bits(acc.span(j, layer.shape.k), layer.x.format,
                                           layer.q.format, last ? bias_mag : 0);
            a.statically_at_risk = a.statically_at_risk || need > acc.stages[j].bits;
        }
    }
    return a;
}

LayerAudit audit_layer(const LayerSpec& layer, const HwConfig& config,
                       const std::string& manifest_path) {
    const LayerBinding binding(layer, config);
    LayerAudit a = static_audit(binding, config.accumulator);
    AuditSink sink(binding, config.accumulator.stages.size(), manifest_path);

    const LayerWork& w = binding.work();
    ReferenceReducer reducer(config.accumulator);
    DotOutcome d;
    std::vector<int32_t> x(static_cast<std::size_t>(w.k)), q(static_cast<std::size_t>(w.n * w.k));
    std::vector<int64_t> products(static_cast<std::size_t>(w.k));
    for (int64_t g = 0; g < w.groups; ++g) {
        for (int64_t n = 0; n < w.n; ++n) binding.q(g, n, 0, w.k, q.data() + n * w.k);
        for (int64_t m = 0; m < w.m; ++m) {
            binding.x(g, m, 0, w.k, x.data());
            for (int64_t n = 0; n < w.n; ++n) {
                const int32_t* qn = q.data() + n * w.k;
                for (int64_t i = 0; i < w.k; ++i) products[i] = int64_t{qn[i]} * x[i];
                reducer.reduce(products.data(), static_cast<std::size_t>(w.k), binding.bias(g, n),
                               d);
                sink.output(g, m, n, d);
            }
        }
    }
    a.overflow = std::move(sink.stats);
    a.output_verified = sink.verified();
    return a;
}

}  // namespace accsim
