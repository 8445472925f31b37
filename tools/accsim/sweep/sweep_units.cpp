#include "sweep/sweep_units.h"

#include <stdexcept>

#include "datapath/byte_stream.h"
#include "datapath/parallel_for.h"
#include "engine/audit_bytes.h"
#include "engine/layer_binding.h"
#include "engine/pipeline.h"
#include "engine/report_json.h"
#include "engine/run_setup.h"
#include "models/timing_replay.h"
#include "sweep/sweep_record.h"

namespace accsim {

using Json = nlohmann::ordered_json;

namespace {

enum : uint8_t { k_value_unit = 1, k_point_unit = 2 };

void put_result(ByteWriter& w, const std::shared_ptr<const ValueBytes>& r,
                std::optional<std::size_t> position) {
    w.put_bool(r != nullptr);
    if (!r) return;
    w.put(static_cast<uint64_t>(*position));
    w.put_raw(r->bytes);
}

}  // namespace

void write_value_result(ByteWriter& w, const ValueResult& r) {
    w.put(static_cast<uint8_t>(r.kind));
    write_audit(w, r.audit);
}

ValueResult read_value_result(ByteReader& r, const LayerSpec& layer, const AccumulatorSpec& acc) {
    ValueResult v;
    const uint8_t kind = r.get<uint8_t>();
    if (kind > static_cast<uint8_t>(ReplayKind::derived_equivalent))
        throw std::runtime_error("sweep unit: unknown replay kind");
    v.kind = static_cast<ReplayKind>(kind);
    v.audit = read_audit(r, layer, acc);
    return v;
}

std::string encode_value_unit(const ValueUnit& u) {
    ByteWriter w;
    w.put(k_value_unit);
    w.put(static_cast<uint64_t>(u.chain));
    w.put(static_cast<uint64_t>(u.position));
    w.put_bool(u.derive);
    w.put_bool(u.dominated);
    w.put_bool(u.known.has_value());
    w.put(static_cast<uint8_t>(u.known ? *u.known : ReplayKind::simulated));
    put_result(w, u.sample, u.sample_position);
    put_result(w, u.same, u.same_position);
    return w.take();
}

std::string encode_results(const std::vector<std::shared_ptr<const ValueBytes>>& results) {
    ByteWriter w;
    for (const auto& r : results) w.put_raw(r->bytes);
    return w.take();
}

ValueBytes decode_value_bytes(const std::string& result) {
    // The events, then write_value_result's bytes (the kind first).
    constexpr std::size_t k_head = sizeof(uint64_t) + 1;
    if (result.size() < k_head) throw std::runtime_error("sweep unit: a value result cut short");
    const std::string head = result.substr(0, k_head);
    ByteReader r(head);
    ValueBytes v;
    v.events = r.get<uint64_t>();
    const uint8_t kind = r.get<uint8_t>();
    if (kind > static_cast<uint8_t>(ReplayKind::derived_equivalent))
        throw std::runtime_error("sweep unit: unknown replay kind");
    v.kind = static_cast<ReplayKind>(kind);
    v.bytes = result.substr(sizeof(uint64_t));
    return v;
}

std::string encode_point_unit(const PointUnit& u) {
    ByteWriter w;
    w.put(k_point_unit);
    w.put(static_cast<uint64_t>(u.value));
    std::vector<uint64_t> points(u.points.begin(), u.points.end());
    w.put_vector(points);
    w.put_string(u.results);
    return w.take();
}

std::vector<std::pair<std::size_t, std::string>> decode_records(const std::string& result) {
    ByteReader r(result);
    const uint64_t n = r.get<uint64_t>();
    std::vector<std::pair<std::size_t, std::string>> records;
    for (uint64_t k = 0; k < n; ++k) {
        const std::size_t i = r.get<uint64_t>();
        records.emplace_back(i, r.get_string());
    }
    r.finish();
    return records;
}

SweepWorker::SweepWorker(const SweepPlan& plan, const Trace& trace,
                         const std::vector<const LayerSpec*>& layers)
    : m_plan(plan),
      m_trace(trace),
      m_layers(layers),
      m_zero_once(layers.size()),
      m_zeros(layers.size()) {}

std::string SweepWorker::run(const std::string& unit, int threads) {
    ByteReader r(unit);
    const uint8_t type = r.get<uint8_t>();
    if (type == k_value_unit) return run_value(r, threads);
    if (type == k_point_unit) return run_points(r, threads);
    throw std::runtime_error("sweep unit: unknown type");
}

std::shared_ptr<const LayerBinding> SweepWorker::binding(std::size_t layer, const HwConfig& c) {
    const std::pair<std::size_t, int> key{layer, static_cast<int>(c.k_order)};
    std::shared_ptr<std::once_flag> once;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        auto& f = m_binding_once[key];
        if (!f) f = std::make_shared<std::once_flag>();
        once = f;
    }
    std::call_once(*once, [&] {
        auto b = std::make_shared<const LayerBinding>(*m_layers[layer], c);
        std::lock_guard<std::mutex> lock(m_mutex);
        m_bindings[key] = std::move(b);
    });
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_bindings.at(key);
}

std::shared_ptr<const LayerAudit> SweepWorker::static_base(std::size_t chain, int threads) {
    std::shared_ptr<std::once_flag> once;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        auto& f = m_base_once[chain];
        if (!f) f = std::make_shared<std::once_flag>();
        once = f;
    }
    std::call_once(*once, [&] {
        // The static audit under the chain's first accumulator; later widths re-evaluate it.
        const ValueChain& ch = m_plan.chains[chain];
        const HwConfig& first = *m_plan.values[ch.members.front()];
        auto b = binding(ch.layer, first);
        auto base =
            std::make_shared<const LayerAudit>(static_audit(*b, first.accumulator, threads));
        std::lock_guard<std::mutex> lock(m_mutex);
        m_bases[chain] = std::move(base);
    });
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_bases.at(chain);
}

const ZeroProducts& SweepWorker::zeros(std::size_t layer) {
    // Products with a zero operand (for zero gating): independent of the config.
    std::call_once(m_zero_once[layer], [&] {
        auto b = binding(layer, *m_plan.values.front());
        m_zeros[layer] = count_zero_products(b->work(), *b);
    });
    return m_zeros[layer];
}

std::string SweepWorker::run_value(ByteReader& r, int threads) {
    const std::size_t chain = r.get<uint64_t>();
    const std::size_t position = r.get<uint64_t>();
    if (chain >= m_plan.chains.size() || position >= m_plan.chains[chain].members.size())
        throw std::runtime_error("sweep unit: no such chain member");
    const ValueChain& ch = m_plan.chains[chain];
    const LayerSpec& layer = *m_layers[ch.layer];
    MemberInputs in;
    in.derive = r.get_bool();
    in.dominated = r.get_bool();
    const bool has_known = r.get_bool();
    const uint8_t known = r.get<uint8_t>();
    if (has_known) in.known = static_cast<ReplayKind>(known);
    // The sample and the equivalent replay, each under its own member's accumulator.
    const auto get_result = [&]() -> std::optional<ValueResult> {
        if (!r.get_bool()) return std::nullopt;
        const std::size_t p = r.get<uint64_t>();
        if (p >= ch.members.size()) throw std::runtime_error("sweep unit: no such chain member");
        return read_value_result(r, layer, m_plan.values[ch.members[p]]->accumulator);
    };
    const std::optional<ValueResult> sample = get_result(), same = get_result();
    r.finish();
    in.sample = sample ? &*sample : nullptr;
    in.same = same ? &*same : nullptr;
    const HwConfig& config = *m_plan.values[ch.members[position]];
    const auto b = binding(ch.layer, config);
    const auto base = static_base(chain, threads);
    const ValueResult result =
        evaluate_member(*b, base.get(), config, in, m_trace.manifest_path(), threads);
    ByteWriter w;
    w.put(result.audit.overflow.events);
    write_value_result(w, result);
    return w.take();
}

std::shared_ptr<const std::vector<ValueResult>> SweepWorker::values_of(std::size_t v,
                                                                       const std::string& bytes) {
    constexpr std::size_t k_kept = 16;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        const auto it = m_values.find(v);
        if (it != m_values.end()) return it->second;
    }
    auto values = std::make_shared<std::vector<ValueResult>>();
    ByteReader r(bytes);
    for (const LayerSpec* l : m_layers)
        values->push_back(read_value_result(r, *l, m_plan.values[v]->accumulator));
    r.finish();
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_values.emplace(v, values).second) m_values_order.push_back(v);
    while (m_values_order.size() > k_kept) {
        m_values.erase(m_values_order.front());
        m_values_order.pop_front();
    }
    return values;
}

std::string SweepWorker::run_points(ByteReader& r, int threads) {
    const std::size_t v = r.get<uint64_t>();
    if (v >= m_plan.values.size()) throw std::runtime_error("sweep unit: no such accumulator");
    const std::vector<uint64_t> points = r.get_vector<uint64_t>();
    const std::string results_bytes = r.get_string();
    r.finish();
    const std::shared_ptr<const std::vector<ValueResult>> decoded = values_of(v, results_bytes);
    const std::vector<ValueResult>& values = *decoded;
    for (uint64_t i : points)
        if (i >= m_plan.points.size() || m_plan.value_of[i] != v)
            throw std::runtime_error("sweep unit: a point of another accumulator");
    const Json trace = trace_section(m_trace, m_layers.size());
    std::vector<std::string> records(points.size());
    // Timing, costs, the report and the record of each point.
    parallel_for(static_cast<int64_t>(points.size()), threads, [&](int64_t k) {
        const std::size_t i = points[static_cast<std::size_t>(k)];
        const HwConfig& c = *m_plan.configs[i];
        std::vector<LayerWork> works;
        std::vector<TimedLayer> timed;
        for (const LayerSpec* l : m_layers) {
            works.push_back(layer_work(*l));
            timed.push_back(
                TimedLayer{works.back(), bytes_for(c, element_bytes(*l, c.accumulator))});
        }
        std::vector<std::string> replay;
        int simulated = 0;
        for (std::size_t l = 0; l < m_layers.size(); ++l) {
            if (m_plan.owner[v] != i) {
                replay.push_back("shared with point " + std::to_string(m_plan.owner[v]));
            } else {
                replay.push_back(to_string(values[l].kind));
                simulated += values[l].kind == ReplayKind::simulated;
            }
        }
        std::vector<LayerOutcome> outcomes;
        std::vector<LayerTiming> timings;
        if (has_hardware(c))
            timings = replay_timing(*c.array, *c.memory, c.accumulator, timed, c.timing.convention,
                                    c.timing.dram_stalls, c.timing.sram_limits);
        for (std::size_t l = 0; l < m_layers.size(); ++l)
            outcomes.push_back(
                layer_outcome(values[l].audit, works[l], timings.empty() ? nullptr : &timings[l],
                              timings.empty() ? std::nullopt : std::optional(zeros(l))));
        const Json report = make_report(timings.empty() ? "audit" : "run", trace, c, outcomes);
        records[static_cast<std::size_t>(k)] =
            point_record(i, m_plan.points[i], c, report, replay, simulated)
                .dump(-1, ' ', false, Json::error_handler_t::replace);
    });
    ByteWriter w;
    w.put(static_cast<uint64_t>(records.size()));
    for (std::size_t k = 0; k < records.size(); ++k) {
        w.put(static_cast<uint64_t>(points[k]));
        w.put_string(records[k]);
    }
    return w.take();
}

}  // namespace accsim
