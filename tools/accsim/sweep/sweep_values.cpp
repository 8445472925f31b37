#include "sweep/sweep_values.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <numeric>

#include "datapath/parallel_for.h"
#include "engine/float_audit.h"
#include "engine/layer_binding.h"

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

std::vector<int> widths(const HwConfig& c) {
    std::vector<int> w;
    for (const StageSpec& s : c.accumulator.stages) w.push_back(s.bits);
    return w;
}

// Widths and overflow modes: with the layout, everything a replay depends on.
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

SweepValues::SweepValues(std::vector<const HwConfig*> configs, std::vector<const LayerSpec*> layers,
                         std::string manifest_path, bool derive)
    : m_configs(std::move(configs)),
      m_layers(std::move(layers)),
      m_manifest(std::move(manifest_path)),
      m_derive(derive) {
    // One chain per layer and layout, its accumulators narrowest first; one binding per layer
    // and mapping, shared by its chains.
    for (std::size_t l = 0; l < m_layers.size(); ++l) {
        std::map<KOrder, std::shared_ptr<const LayerBinding>> bindings;
        std::map<std::string, std::vector<std::size_t>> by_layout;
        for (std::size_t i = 0; i < m_configs.size(); ++i)
            by_layout[layout_key(*m_configs[i], m_layers[l]->shape.k)].push_back(i);
        for (auto& [key, members] : by_layout) {
            std::stable_sort(members.begin(), members.end(), [&](std::size_t a, std::size_t b) {
                const std::vector<int> wa = widths(*m_configs[a]), wb = widths(*m_configs[b]);
                const int sa = std::accumulate(wa.begin(), wa.end(), 0),
                          sb = std::accumulate(wb.begin(), wb.end(), 0);
                return sa != sb ? sa < sb : wa < wb;
            });
            Chain chain;
            chain.layer = l;
            chain.configs = members;
            const HwConfig& first = *m_configs[members.front()];
            auto& b = bindings[first.k_order];
            if (!b) b = std::make_shared<const LayerBinding>(*m_layers[l], first);
            chain.binding = b;
            m_chains.push_back(std::move(chain));
        }
    }
    m_results.resize(tasks());
}

void SweepValues::run(int threads, const std::function<void()>& done,
                      const std::function<void(const std::vector<std::size_t>&)>& complete) {
    std::vector<bool> reported(m_configs.size(), false);
    // The configs every one of whose layers has a result, not reported before.
    const auto report_complete = [&] {
        if (!complete) return;
        std::vector<std::size_t> now;
        for (std::size_t c = 0; c < m_configs.size(); ++c) {
            if (reported[c]) continue;
            bool all = true;
            for (std::size_t l = 0; l < m_layers.size() && all; ++l)
                all = m_results[c * m_layers.size() + l] != nullptr;
            if (all) {
                reported[c] = true;
                now.push_back(c);
            }
        }
        if (!now.empty()) complete(now);
    };
    std::mutex m;
    auto tick = [&] {
        std::lock_guard<std::mutex> lock(m);
        done();
    };
    // Chains advance in waves, one accumulator each per wave: a layer too big to share the
    // threads with others replays on all of them, one after another; the rest replay side by
    // side, one thread each. Which replays are derived depends only on each chain's own order,
    // never on this split or the thread count.
    std::size_t longest = 0;
    for (const Chain& c : m_chains) longest = std::max(longest, c.configs.size());
    int64_t all_macs = 0;
    for (const LayerSpec* l : m_layers) all_macs += l->macs();
    for (std::size_t w = 0; w < longest; ++w) {
        std::vector<Chain*> large, small;
        for (Chain& c : m_chains) {
            if (w >= c.configs.size()) continue;
            (replays_alone(m_layers[c.layer]->macs(), all_macs, threads) ? large : small)
                .push_back(&c);
        }
        for (Chain* c : large) step(*c, w, threads, tick);
        parallel_for(static_cast<int64_t>(small.size()), threads,
                     [&](int64_t i) { step(*small[static_cast<std::size_t>(i)], w, 1, tick); });
        report_complete();
    }
    report_complete();  // a sweep over no layer
}

void SweepValues::step(Chain& chain, std::size_t w, int threads,
                       const std::function<void()>& done) {
    const std::size_t c = chain.configs[w];
    const HwConfig& config = *m_configs[c];
    auto r = std::make_unique<ValueResult>();
    const LayerBinding& binding = *chain.binding;
    LayerAudit a = chain.static_base
                       ? static_audit_at(*chain.static_base, binding, config.accumulator)
                       : static_audit(binding, config.accumulator, threads);
    if (!chain.static_base) chain.static_base = a;
    bool derived = false;
    // Float datapaths are always replayed: the integer rules (bounds, narrower clean replays)
    // say nothing about rounding.
    const bool floating = replays_as_float(binding.layer(), config.accumulator);
    if (m_derive && chain.sample && !floating) {
        const std::vector<int> wd = widths(config);
        const auto same = chain.replayed.find(registers_key(config));
        const bool dominated =
            std::any_of(chain.clean.begin(), chain.clean.end(),
                        [&](const std::vector<int>& cw) { return no_wider(cw, wd); });
        if (same != chain.replayed.end()) {
            // The same replay as an earlier accumulator (it differed in a tile length that
            // makes no difference to this layer): its statistics exactly.
            r->kind = ReplayKind::derived_equivalent;
            a.overflow = same->second->audit.overflow;
            a.output_verified = same->second->audit.output_verified;
            r->audit = std::move(a);
            derived = true;
        } else if (!a.statically_at_risk || dominated) {
            r->kind =
                a.statically_at_risk ? ReplayKind::derived_dominated : ReplayKind::derived_static;
            a.overflow = clean_like(chain.sample->audit.overflow);
            a.output_verified = chain.sample->audit.output_verified;
            r->audit = std::move(a);
            derived = true;
        }
    }
    if (!derived) {
        r->audit = replay_layer(binding, std::move(a), config, m_manifest, threads);
        r->kind = ReplayKind::simulated;
        if (r->audit.overflow.events == 0 && !floating) chain.clean.push_back(widths(config));
    }
    const ValueResult* stored = r.get();
    m_results[c * m_layers.size() + chain.layer] = std::move(r);
    if (!floating) {
        if (!chain.sample) chain.sample = stored;
        chain.replayed.emplace(registers_key(config), stored);
    }
    if (w + 1 == chain.configs.size()) {  // the chain is done: free its operands
        chain.binding.reset();
        chain.static_base.reset();
    }
    done();
}

}  // namespace accsim
