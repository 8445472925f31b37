#include "sweep/sweep_values.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <stdexcept>

#include "engine/float_audit.h"

namespace accsim {

namespace {

// What the values of a replay of a layer with dot length k depend on besides the widths and
// overflow modes. A first-stage tile at least as long as the dot product is one tile whatever
// its length (later stages then see one value): such lengths are the same replay.
std::string layout_key(const HwConfig& c, int64_t k) {
    std::string key =
        std::to_string(static_cast<int>(c.k_order)) + "|" + to_string(c.accumulator.bias);
    for (std::size_t j = 0; j < c.accumulator.stages.size(); ++j) {
        const StageSpec& s = c.accumulator.stages[j];
        std::optional<int64_t> length = s.length;
        if (j == 0 && length && *length > k) length = k;
        key += "|" + (length ? std::to_string(*length) : std::string("-")) +
               (s.reduction == Reduction::tree ? "t" : "s");
    }
    return key;
}

// The statistics of a replay without a single event, from any replay of the same layout: the
// same outputs and observed (unbounded) ranges, nothing else.
OverflowStats clean_like(const OverflowStats& sample) {
    OverflowStats s(sample.events_by_stage.size());
    s.outputs = sample.outputs;
    s.has_real_error = sample.has_real_error;
    s.observed_by_stage = sample.observed_by_stage;
    return s;
}

}  // namespace

std::optional<ReplayKind> replay_kind(const std::string& label) {
    for (const auto& n : k_replay_kind_names)
        if (label == n.name) return n.value;
    return std::nullopt;
}

std::vector<int> stage_widths(const HwConfig& c) {
    std::vector<int> w;
    for (const StageSpec& s : c.accumulator.stages) w.push_back(s.bits);
    return w;
}

std::string registers_key(const HwConfig& c) {
    std::string key;
    for (const StageSpec& s : c.accumulator.stages)
        key += std::to_string(s.bits) + (s.overflow == OverflowMode::wrap ? "w" : "s") + ",";
    return key;
}

bool no_wider(const std::vector<int>& a, const std::vector<int>& b) {
    for (std::size_t j = 0; j < a.size(); ++j)
        if (a[j] > b[j]) return false;
    return true;
}

std::vector<ValueChain> make_chains(const std::vector<const HwConfig*>& configs,
                                    const std::vector<const LayerSpec*>& layers) {
    std::vector<ValueChain> chains;
    for (std::size_t l = 0; l < layers.size(); ++l) {
        std::map<std::string, std::vector<std::size_t>> by_layout;
        for (std::size_t i = 0; i < configs.size(); ++i)
            by_layout[layout_key(*configs[i], layers[l]->shape.k)].push_back(i);
        for (auto& [key, members] : by_layout) {
            std::stable_sort(members.begin(), members.end(), [&](std::size_t a, std::size_t b) {
                const std::vector<int> wa = stage_widths(*configs[a]),
                                       wb = stage_widths(*configs[b]);
                const int sa = std::accumulate(wa.begin(), wa.end(), 0),
                          sb = std::accumulate(wb.begin(), wb.end(), 0);
                return sa != sb ? sa < sb : wa < wb;
            });
            chains.push_back(ValueChain{l, members});
        }
    }
    return chains;
}

ValueResult evaluate_member(const LayerBinding& binding, const LayerAudit* static_base,
                            const HwConfig& config, const MemberInputs& in,
                            const std::string& manifest_path, int threads) {
    LayerAudit a = static_base ? static_audit_at(*static_base, binding, config.accumulator)
                               : static_audit(binding, config.accumulator, threads);
    // Float datapaths are always replayed: the integer rules (bounds, narrower clean replays)
    // say nothing about rounding.
    const bool floating = replays_as_float(binding.layer(), config.accumulator);
    ReplayKind kind = ReplayKind::simulated;
    if (in.known) {
        kind = *in.known;
    } else if (in.derive && (in.sample || in.same) && !floating) {
        if (in.same)
            kind = ReplayKind::derived_equivalent;
        else if (!a.statically_at_risk)
            kind = ReplayKind::derived_static;
        else if (in.dominated)
            kind = ReplayKind::derived_dominated;
    }
    ValueResult r;
    r.kind = kind;
    switch (kind) {
        case ReplayKind::derived_equivalent:
            if (!in.same) throw std::logic_error("sweep: an equivalent replay without its source");
            // The same replay as an earlier accumulator (it differed in a tile length that
            // makes no difference to this layer): its statistics exactly.
            a.overflow = in.same->audit.overflow;
            a.output_verified = in.same->audit.output_verified;
            r.audit = std::move(a);
            break;
        case ReplayKind::derived_static:
        case ReplayKind::derived_dominated:
            if (!in.sample) throw std::logic_error("sweep: a derived replay without a sample");
            a.overflow = clean_like(in.sample->audit.overflow);
            a.output_verified = in.sample->audit.output_verified;
            r.audit = std::move(a);
            break;
        case ReplayKind::simulated:
            r.audit = replay_layer(binding, std::move(a), config, manifest_path, threads);
            break;
    }
    return r;
}

}  // namespace accsim
