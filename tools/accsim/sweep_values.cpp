#include "sweep_values.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <numeric>

#include "datapath/parallel_for.h"
#include "layer_binding.h"

namespace accsim {

const char* to_string(ReplayKind k) {
    switch (k) {
        case ReplayKind::simulated: return "simulated";
        case ReplayKind::derived_static: return "derived: static bound";
        case ReplayKind::derived_dominated: return "derived: narrower replay clean";
    }
    return "?";
}

namespace {

// What the values of a replay depend on besides the widths and overflow modes.
std::string layout_key(const HwConfig& c) {
    std::string key = std::to_string(static_cast<int>(c.k_order)) + "|" + to_string(c.accumulator.bias);
    for (const StageSpec& s : c.accumulator.stages)
        key += "|" + (s.length ? std::to_string(*s.length) : std::string("-")) +
               (s.reduction == Reduction::tree ? "t" : "s");
    return key;
}

std::vector<int> widths(const HwConfig& c) {
    std::vector<int> w;
    for (const StageSpec& s : c.accumulator.stages) w.push_back(s.bits);
    return w;
}

bool no_wider(const std::vector<int>& a, const std::vector<int>& b) {
    for (std::size_t j = 0; j < a.size(); ++j)
        if (a[j] > b[j]) return false;
    return true;
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

SweepValues::SweepValues(std::vector<const HwConfig*> configs,
                         std::vector<const LayerSpec*> layers, std::string manifest_path,
                         bool derive)
    : m_configs(std::move(configs)),
      m_layers(std::move(layers)),
      m_manifest(std::move(manifest_path)),
      m_derive(derive) {
    std::map<std::string, std::vector<std::size_t>> by_layout;
    for (std::size_t i = 0; i < m_configs.size(); ++i)
        by_layout[layout_key(*m_configs[i])].push_back(i);
    for (auto& [key, members] : by_layout) {
        std::stable_sort(members.begin(), members.end(), [&](std::size_t a, std::size_t b) {
            const std::vector<int> wa = widths(*m_configs[a]), wb = widths(*m_configs[b]);
            const int sa = std::accumulate(wa.begin(), wa.end(), 0),
                      sb = std::accumulate(wb.begin(), wb.end(), 0);
            return sa != sb ? sa < sb : wa < wb;
        });
        m_groups.push_back(members);
    }
    m_results.resize(tasks());
}

void SweepValues::run(int threads, const std::function<void()>& done) {
    std::mutex m;
    auto tick = [&] {
        std::lock_guard<std::mutex> lock(m);
        done();
    };
    // Few chains of replays: one after another, each replay on every thread; many: the chains
    // side by side, each replay on one. Either way the same results and the same derivations.
    const std::size_t n = m_groups.size() * m_layers.size();
    const bool inner = n < 4 * static_cast<std::size_t>(std::max(threads, 1));
    m_replay_threads = inner ? threads : 1;
    parallel_for(static_cast<int64_t>(n), inner ? 1 : threads, [&](int64_t t) {
        const std::size_t layer = static_cast<std::size_t>(t) % m_layers.size();
        const std::size_t group = static_cast<std::size_t>(t) / m_layers.size();
        run_group(layer, m_groups[group], tick);
    });
}

void SweepValues::run_group(std::size_t layer, const std::vector<std::size_t>& configs,
                            const std::function<void()>& done) {
    const LayerSpec& spec = *m_layers[layer];
    const ValueResult* sample = nullptr;  // a replay of this layout: its observed ranges
    std::vector<std::vector<int>> clean;  // widths whose replay had no event
    for (std::size_t c : configs) {
        const HwConfig& config = *m_configs[c];
        auto r = std::make_unique<ValueResult>();
        bool derived = false;
        if (m_derive && sample) {
            const LayerBinding binding(spec, config);
            LayerAudit a = static_audit(binding, config.accumulator);
            const std::vector<int> w = widths(config);
            const bool dominated = std::any_of(clean.begin(), clean.end(),
                                               [&](const std::vector<int>& cw) { return no_wider(cw, w); });
            if (!a.statically_at_risk || dominated) {
                r->kind = a.statically_at_risk ? ReplayKind::derived_dominated
                                               : ReplayKind::derived_static;
                a.overflow = clean_like(sample->audit.overflow);
                a.output_verified = sample->audit.output_verified;
                r->audit = std::move(a);
                derived = true;
            }
        }
        if (!derived) {
            r->audit = audit_layer(spec, config, m_manifest, m_replay_threads);
            r->kind = ReplayKind::simulated;
            if (r->audit.overflow.events == 0) clean.push_back(widths(config));
        }
        m_results[c * m_layers.size() + layer] = std::move(r);
        if (!sample) sample = m_results[c * m_layers.size() + layer].get();
        done();
    }
}

}  // namespace accsim
