#pragma once
// The value replays of a sweep: for every distinct accumulator (with its mapping) and every
// layer, the layer's audit (static bounds and overflow statistics), computed once and derived
// instead of replayed wherever that is provably exact:
//
//   - static: the layer's exact static bounds show that no register of this accumulator can
//     leave its range on any input in the declared formats. Then no event happens and every
//     output is exact; the statistics are those of a clean replay, whose observed partial-sum
//     ranges (unbounded, so independent of widths and overflow modes) any replay of the same
//     layout gives.
//   - dominated: a replay of the same layout (tile lengths, reductions, bias placement and
//     mapping) with widths no wider in any stage had no event. Every register value then fit,
//     and fits the wider registers too: again a clean replay, whatever the overflow modes.
//   - equivalent: an accumulator of the same widths and modes whose first-stage tiles differ
//     only in lengths at least as long as the layer's dot product (one tile either way) was
//     replayed already: the same replay, its statistics exactly.
//
// For each layer, accumulators of one layout form a chain visited from the narrowest up, so
// that the first clean replay derives every wider one; chains are independent tasks. The
// visiting order depends only on the sweep, so which results were derived (and the results,
// which are the same either way) do not depend on the thread count.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/hw_config.h"
#include "engine/layer_audit.h"
#include "engine/layer_binding.h"
#include "traces/trace.h"

namespace accsim {

enum class ReplayKind { simulated, derived_static, derived_dominated, derived_equivalent };
// How sweep.json's layer records name them ("replay").
inline constexpr EnumName<ReplayKind> k_replay_kind_names[] = {
    {ReplayKind::simulated, "simulated"},
    {ReplayKind::derived_static, "derived: static bound"},
    {ReplayKind::derived_dominated, "derived: narrower replay clean"},
    {ReplayKind::derived_equivalent, "derived: same replay"}};
inline const char* to_string(ReplayKind k) {
    return name_of(k_replay_kind_names, k);
}

struct ValueResult {
    LayerAudit audit;
    ReplayKind kind = ReplayKind::simulated;
};

class SweepValues {
  public:
    // `configs`: one per distinct accumulator; `layers`: the trace's layers to replay.
    SweepValues(std::vector<const HwConfig*> configs, std::vector<const LayerSpec*> layers,
                std::string manifest_path, bool derive);

    // Replays or derives every (config, layer) on `threads` threads; `done` is called after each
    // one (from any thread, serialized). `complete` is called on the calling thread between
    // waves with the configs whose every layer has its result now (each config once), so that
    // their points can be finished and journalled while later waves still run.
    void run(int threads, const std::function<void()>& done,
             const std::function<void(const std::vector<std::size_t>&)>& complete = {});

    std::size_t tasks() const { return m_configs.size() * m_layers.size(); }
    const ValueResult& result(std::size_t config, std::size_t layer) const {
        return *m_results[config * m_layers.size() + layer];
    }

  private:
    // The accumulators of one layout, narrowest first, for one layer.
    struct Chain {
        std::size_t layer = 0;
        std::vector<std::size_t> configs;
        const ValueResult* sample = nullptr;  // a replay of this layout: its observed ranges
        std::vector<std::vector<int>> clean;  // widths whose replay had no event
        std::map<std::string, const ValueResult*> replayed;  // by widths and modes
        // The layer bound to the chain's mapping (shared by the layer's chains of that mapping),
        // and its static audit under the chain's first accumulator: later widths re-evaluate it
        // (static_audit_at). Both are let go when the chain ends.
        std::shared_ptr<const LayerBinding> binding;
        std::optional<LayerAudit> static_base;
    };
    // The chain's w-th accumulator: derived, or replayed on `threads` threads.
    void step(Chain& chain, std::size_t w, int threads, const std::function<void()>& done);

    std::vector<const HwConfig*> m_configs;
    std::vector<const LayerSpec*> m_layers;
    std::string m_manifest;
    bool m_derive;
    std::vector<Chain> m_chains;
    std::vector<std::unique_ptr<ValueResult>> m_results;
};

}  // namespace accsim
