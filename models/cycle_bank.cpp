#include "cycle_bank.h"

namespace accsim {

CycleBank::CycleBank(const AccumulatorSpec& spec, int64_t k, OutputSink* sink)
    : m_spec(spec), m_k(k), m_sink(sink) {}

CycleBank::Entry& CycleBank::open(int64_t g, int64_t m, int64_t n, std::optional<int64_t> bias) {
    const auto [it, fresh] = m_entries.try_emplace(key(g, m, n));
    Entry& e = it->second;
    if (fresh) {
        e.bias = m_spec.bias == BiasMode::none ? std::nullopt : bias;
        if (single_stage()) {
            // One register for everything: it starts from the bias when the bias comes first.
            if (e.bias && m_spec.bias == BiasMode::first) {
                const Fitted f = fit(*e.bias, first_stage().bits, first_stage().overflow);
                e.chain.value = f.value;
                e.chain.events += f.event;
            }
        } else {
            e.later.emplace(m_spec, 1, m_k);
            e.later->begin(bias);
        }
    }
    return e;
}

PartialSum CycleBank::start(int64_t g, int64_t m, int64_t n, std::optional<int64_t> bias) {
    Entry& e = open(g, m, n, bias);
    return single_stage() ? e.chain : PartialSum{};
}

void CycleBank::deliver(int64_t g, int64_t m, int64_t n, const PartialSum& ps,
                        std::optional<int64_t> bias) {
    Entry& e = open(g, m, n, bias);
    if (single_stage()) {
        e.chain = ps;
        return;
    }
    e.stage1_events += ps.events;
    e.stage1_observed.merge(ps.observed);
    e.later->push(ps.value, ps.exact);
}

void CycleBank::close(int64_t g, int64_t m, int64_t n) {
    const auto it = m_entries.find(key(g, m, n));
    if (it == m_entries.end()) return;
    Entry& e = it->second;
    const std::size_t stages = m_spec.stages.size();
    if (single_stage()) {
        const StageSpec& s = first_stage();
        int64_t final_value = e.chain.value;
        uint64_t events = e.chain.events;
        if (e.bias && m_spec.bias == BiasMode::last) {
            const Fitted f = fit(i128{final_value} + *e.bias, s.bits, s.overflow);
            final_value = f.value;
            events += f.event;
        }
        m_outcome.events_by_stage.assign(1, events);
        m_outcome.observed_by_stage.assign(1, e.chain.observed);
        m_outcome.final_value = final_value;
        m_outcome.exact_dot = e.chain.exact;
        m_outcome.exact = e.chain.exact + (e.bias ? *e.bias : 0);
    } else {
        m_outcome.events_by_stage.assign(stages, 0);
        m_outcome.observed_by_stage.assign(stages, ValueRange{});
        e.later->finish(m_outcome);
        m_outcome.events_by_stage[0] = e.stage1_events;
        m_outcome.observed_by_stage[0] = e.stage1_observed;
    }
    if (m_sink) m_sink->output(g, m, n, m_outcome);
    m_entries.erase(it);
}

}  // namespace accsim
