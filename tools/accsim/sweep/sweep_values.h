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
// For each layer, the accumulators of one layout form a chain visited from the narrowest up, so
// that the first clean replay derives every wider one. The chains, their order and so which
// results are derived depend only on the whole grid: never on the thread or process count, on
// which points a resumed sweep still has to do, or on a --shard slice. Chains are independent;
// the members of one chain follow each other (sweep_scheduler.h hands them out).
#include <cstdint>
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
// The kind a record's "replay" label names; nullopt for another label.
std::optional<ReplayKind> replay_kind(const std::string& label);

struct ValueResult {
    LayerAudit audit;
    ReplayKind kind = ReplayKind::simulated;
};

// The accumulators (indices into the sweep's distinct accumulators) of one layout, narrowest
// first, for one layer.
struct ValueChain {
    std::size_t layer = 0;
    std::vector<std::size_t> members;
};
std::vector<ValueChain> make_chains(const std::vector<const HwConfig*>& configs,
                                    const std::vector<const LayerSpec*>& layers);

// The stage widths of a config, and its widths with overflow modes (with the layout,
// everything a replay depends on).
std::vector<int> stage_widths(const HwConfig& c);
std::string registers_key(const HwConfig& c);
// Every stage of `a` at most as wide as that of `b`.
bool no_wider(const std::vector<int>& a, const std::vector<int>& b);

// What a chain member is derived from, as the chain stands when its turn comes.
struct MemberInputs {
    bool derive = true;                   // --no-derive: false
    const ValueResult* sample = nullptr;  // the chain's first integer replay, if any
    const ValueResult* same = nullptr;    // an earlier member of the same widths and modes
                                          // (when given, the sample is not needed)
    bool dominated = false;               // an earlier clean replay no wider in any stage
    // Recomputing a result whose kind is known (from a resumed journal): a replay, or the
    // clean statistics of `sample` for one derived by the static bound or a narrower replay.
    std::optional<ReplayKind> known;
};

// A member's result: its static audit (`static_base`: the chain's first member's, re-evaluated
// at this member's widths; or computed here when null), then derived or replayed on `threads`.
ValueResult evaluate_member(const LayerBinding& binding, const LayerAudit* static_base,
                            const HwConfig& config, const MemberInputs& in,
                            const std::string& manifest_path, int threads);

}  // namespace accsim
