#include "engine/pipeline.h"

#include <stdexcept>

#include "engine/layer_cost.h"
#include "engine/report_json.h"

namespace accsim {

LayerOutcome layer_outcome(const LayerAudit& audit, const LayerWork& work,
                           const LayerTiming* timing, std::optional<ZeroProducts> zero_products) {
    LayerOutcome o;
    o.work = work;
    o.op = to_string(audit.layer->op);
    o.has_bias = audit.layer->bias.has_value();
    o.audit = &audit;
    o.timing = timing;
    o.zero_products = std::move(zero_products);
    return o;
}

nlohmann::ordered_json make_report(const std::string& command, nlohmann::ordered_json source,
                                   const HwConfig& config,
                                   const std::vector<LayerOutcome>& layers) {
    std::size_t timed = 0;
    for (const LayerOutcome& l : layers) timed += l.timing != nullptr;
    if (timed != 0 && timed != layers.size())
        throw std::logic_error("make_report: some layers timed, others not");

    std::optional<RunCosts> costs;
    if (timed) {
        std::vector<PricedLayer> priced;
        for (const LayerOutcome& l : layers)
            priced.push_back(PricedLayer{l.work, l.has_bias, l.zero_products, *l.timing});
        costs = price_run(config, priced);
    }
    std::vector<ReportLayer> rows;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const LayerOutcome& l = layers[i];
        const LayerCost* cost = costs ? &costs->layers[i] : nullptr;
        if (l.audit)
            rows.push_back(report_layer(*l.audit, l.timing, cost));
        else
            rows.push_back(ReportLayer{l.work.name, l.op, l.work.k, l.work.outputs(), l.work.macs(),
                                       nullptr, l.timing, cost});
    }
    return build_report(command, std::move(source), config, rows, costs ? &*costs : nullptr);
}

}  // namespace accsim
