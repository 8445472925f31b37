#pragma once
// The units a sweep is cut into, and the process-side code that runs them (every process of a
// distributed job holds a SweepWorker over the same plan):
//
//   - a value unit: one member of a chain (sweep_values.h), evaluated with what the chain
//     gives it (the sample, an equivalent earlier replay, whether a narrower one was clean).
//     Its result is the ValueResult, bit for bit.
//   - a point unit: points that share one distinct accumulator, given its values for every
//     layer: their timing, costs, report and compact record. Its result is the records' text.
//
// Units and results are byte strings (datapath/byte_stream.h), so the same code serves threads
// and MPI ranks. sweep_scheduler.h decides which units run when.
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "models/operand_activity.h"
#include "sweep/sweep_plan.h"
#include "sweep/sweep_values.h"

namespace accsim {

// A chain member's result as the coordinator keeps it: the bytes write_value_result wrote on
// the process that evaluated it (passed on as they are, never decoded there), and what the
// chain's walk needs of it.
struct ValueBytes {
    std::string bytes;
    ReplayKind kind = ReplayKind::simulated;
    uint64_t events = 0;
};
// A value unit's result: its member's ValueBytes.
ValueBytes decode_value_bytes(const std::string& result);

// The coordinator's view of a value unit: chain member `position` of chain `chain`.
struct ValueUnit {
    std::size_t chain = 0;
    std::size_t position = 0;
    bool derive = true;
    bool dominated = false;
    std::optional<ReplayKind> known;  // recomputing a journalled result
    std::optional<std::size_t> sample_position;
    std::shared_ptr<const ValueBytes> sample;
    std::optional<std::size_t> same_position;
    std::shared_ptr<const ValueBytes> same;
};
std::string encode_value_unit(const ValueUnit& u);

struct PointUnit {
    std::size_t value = 0;            // the distinct accumulator
    std::vector<std::size_t> points;  // its points to finish
    std::string results;              // its ValueResult per layer, as encode_results writes
};
std::string encode_point_unit(const PointUnit& u);
// The values of distinct accumulator `value` for every layer (results[layer]).
std::string encode_results(const std::vector<std::shared_ptr<const ValueBytes>>& results);

void write_value_result(ByteWriter& w, const ValueResult& r);
ValueResult read_value_result(ByteReader& r, const LayerSpec& layer, const AccumulatorSpec& acc);

// A point unit's result: each point's index and record (compact JSON text), in the unit's order.
std::vector<std::pair<std::size_t, std::string>> decode_records(const std::string& result);

class SweepWorker {
  public:
    SweepWorker(const SweepPlan& plan, const Trace& trace,
                const std::vector<const LayerSpec*>& layers);
    // Runs a unit on `threads` threads. Thread-safe: units run side by side.
    std::string run(const std::string& unit, int threads);

  private:
    std::string run_value(ByteReader& r, int threads);
    std::string run_points(ByteReader& r, int threads);
    std::shared_ptr<const LayerBinding> binding(std::size_t layer, const HwConfig& config);
    std::shared_ptr<const LayerAudit> static_base(std::size_t chain, int threads);
    const ZeroProducts& zeros(std::size_t layer);
    // The decoded layer values of accumulator `value` (every point unit of it carries the same
    // bytes): the last few are kept.
    std::shared_ptr<const std::vector<ValueResult>> values_of(std::size_t value,
                                                              const std::string& bytes);

    const SweepPlan& m_plan;
    const Trace& m_trace;
    std::vector<const LayerSpec*> m_layers;
    std::mutex m_mutex;  // guards the caches (each entry is made once, outside the lock)
    std::map<std::pair<std::size_t, int>, std::shared_ptr<std::once_flag>> m_binding_once;
    std::map<std::pair<std::size_t, int>, std::shared_ptr<const LayerBinding>> m_bindings;
    std::map<std::size_t, std::shared_ptr<std::once_flag>> m_base_once;
    std::map<std::size_t, std::shared_ptr<const LayerAudit>> m_bases;
    std::vector<std::once_flag> m_zero_once;
    std::vector<ZeroProducts> m_zeros;
    std::map<std::size_t, std::shared_ptr<const std::vector<ValueResult>>> m_values;
    std::deque<std::size_t> m_values_order;  // oldest first
};

}  // namespace accsim
