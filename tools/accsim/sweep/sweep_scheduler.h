#pragma once
// The coordinator of a sweep: which units (sweep_units.h) are ready, biggest first, and what
// their results mean. It walks every chain (sweep_values.h) in its fixed order, member by
// member, keeping what later members are derived from (the sample, the clean widths, the
// replays by widths and modes), so that every member is derived or replayed exactly as in one
// uninterrupted single-process run, whichever process computed what:
//
//   - a member whose accumulator has points to finish here is evaluated (a value unit), and
//     once every layer of an accumulator has its values, its points go out as point units;
//   - a member whose points are all journalled already (--resume) is not evaluated: its kind
//     and events, read from its owner point's record, advance the chain; should a later member
//     need its result (as the sample or as the same replay), it is recomputed, never a point;
//   - a member of another shard's points is evaluated only when a later member here follows it.
//
// A chain has at most one unit out at a time; chains, and points, go side by side.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "engine/work_pool.h"
#include "sweep/sweep_plan.h"
#include "sweep/sweep_units.h"

namespace accsim {

class SweepScheduler : public UnitSource {
  public:
    // `todo`: the points to finish here. `done`: journalled records (by point). `on_record`:
    // a point finished, with its record's compact JSON text (called on the coordinating
    // thread); `on_step`: progress.
    SweepScheduler(const SweepPlan& plan, const std::vector<const LayerSpec*>& layers,
                   const SweepOptions& options, const std::vector<std::size_t>& todo,
                   const std::map<std::size_t, nlohmann::ordered_json>& done,
                   std::function<void(std::size_t, const std::string&)> on_record,
                   std::function<void()> on_step);

    // Progress steps: a value unit of an accumulator with points here, and a point.
    int64_t steps() const { return m_steps; }

    std::vector<WorkUnit> take(std::size_t max) override;
    void accept(uint64_t id, const std::string& result) override;
    bool finished() const override;

  private:
    enum class Need { compute, known, elsewhere };
    struct Member {
        std::shared_ptr<const ValueBytes> result;
        std::optional<ReplayKind> kind;
        uint64_t events = 0;
    };
    struct ChainState {
        std::size_t next = 0;  // the next member to evaluate or skip
        std::size_t end = 0;   // one past the last member needed here
        bool busy = false;     // a unit of this chain is out
        std::vector<Member> members;
        std::optional<std::size_t> sample;
        std::map<std::string, std::size_t> replayed;  // by widths and modes
        std::vector<std::vector<int>> clean;
    };
    struct Out {
        bool value = false;  // a value unit (else a point unit)
        std::size_t chain = 0, position = 0;
        bool recompute = false;
    };

    void advance(std::size_t chain);
    // Whether member p's result is at hand; if not, its recomputation is queued.
    bool ensure(std::size_t chain, std::size_t p);
    void queue_value(std::size_t chain, std::size_t p, std::optional<ReplayKind> known);
    void note(std::size_t chain, std::size_t p, ReplayKind kind, uint64_t events);
    bool floating(std::size_t chain, std::size_t p) const;
    void points_ready(std::size_t value);

    const SweepPlan& m_plan;
    std::vector<const LayerSpec*> m_layers;
    const SweepOptions& m_options;
    std::function<void(std::size_t, const std::string&)> m_on_record;
    std::function<void()> m_on_step;
    std::vector<Need> m_need;                      // per distinct accumulator
    std::vector<std::vector<std::size_t>> m_todo;  // per distinct accumulator, points to finish
    std::vector<std::size_t> m_layers_done;        // per distinct accumulator
    std::vector<ChainState> m_chains;
    int64_t m_all_macs = 0;
    int64_t m_steps = 0;
    // Ready units: value units by size (the layer's MACs), biggest first; then point units.
    std::multimap<int64_t, WorkUnit, std::greater<int64_t>> m_ready_values;
    std::deque<WorkUnit> m_ready_points;
    std::map<uint64_t, Out> m_out;  // units handed out or ready, by id
    uint64_t m_next_id = 0;
    std::size_t m_points_left = 0;
};

}  // namespace accsim
