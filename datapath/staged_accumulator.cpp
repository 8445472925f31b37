#include "staged_accumulator.h"

#include <stdexcept>

namespace accsim {

StagedAccumulator::StagedAccumulator(const AccumulatorSpec& spec, std::size_t first_stage,
                                     int64_t k)
    : m_spec(spec), m_first(first_stage), m_k(k) {
    m_spec.check();
    if (first_stage >= spec.stages.size())
        throw std::logic_error("StagedAccumulator: no such stage");
    m_levels.resize(spec.stages.size());
    m_remaining.resize(spec.stages.size());
    // Inputs to stage j = number of tiles of stage j-1 (products for stage 0).
    int64_t inputs = k;
    for (std::size_t j = 0; j < spec.stages.size(); ++j) {
        if (j == m_first) m_inputs_expected = inputs;
        m_levels[j].tile = last(j) ? inputs : *spec.stages[j].length;
        if (!last(j)) inputs = (inputs + *spec.stages[j].length - 1) / *spec.stages[j].length;
    }
}

void StagedAccumulator::begin(std::optional<int64_t> bias) {
    m_bias = m_spec.bias == BiasMode::none ? std::nullopt : bias;
    int64_t inputs = m_k;
    for (std::size_t j = 0; j < m_levels.size(); ++j) {
        Level& l = m_levels[j];
        l.value = 0;
        l.exact = 0;
        l.tree.clear();
        l.tree_exact.clear();
        l.count = 0;
        l.events = 0;
        l.observed = ValueRange{};
        m_remaining[j] = inputs;
        if (!last(j)) inputs = (inputs + *m_spec.stages[j].length - 1) / *m_spec.stages[j].length;
    }
    m_exact_dot = 0;
    // Bias first: the last stage's register starts from the bias by an addition 0 + b (a tree
    // takes it as its first leaf); it is not a partial sum of the dot product (no observed range).
    const std::size_t n = m_levels.size();
    if (m_bias && m_spec.bias == BiasMode::first) {
        Level& l = m_levels[n - 1];
        const StageSpec& s = m_spec.stages[n - 1];
        const Fitted f = fit(*m_bias, s.bits, s.overflow);
        l.events += f.event;
        if (s.reduction == Reduction::sequential)
            l.value = f.value;
        else
            l.tree.push_back(f.value);  // a leaf of the hardware tree only
    }
}

void StagedAccumulator::push(int64_t value, i128 exact) {
    m_exact_dot +=
        exact;  // products, or exact tile results: either way they sum to the dot product
    feed(m_first, value, exact);
}

void StagedAccumulator::feed(std::size_t j, int64_t value, i128 exact) {
    Level& l = m_levels[j];
    const StageSpec& s = m_spec.stages[j];
    if (s.reduction == Reduction::sequential) {
        const Fitted f = fit(i128{l.value} + value, s.bits, s.overflow);
        l.value = f.value;
        l.events += f.event;
        l.exact += exact;
        l.observed.include(l.exact);
    } else {
        const Fitted f = fit(value, s.bits, s.overflow);
        l.events += f.event;
        l.tree.push_back(f.value);
        l.tree_exact.push_back(exact);
        l.observed.include(exact);
    }
    ++l.count;
    --m_remaining[j];
    if (!last(j) && (l.count == l.tile || m_remaining[j] == 0)) close_tile(j);
}

void StagedAccumulator::close_tile(std::size_t j) {
    Level& l = m_levels[j];
    const StageSpec& s = m_spec.stages[j];
    int64_t result = l.value;
    i128 exact = l.exact;
    if (s.reduction == Reduction::tree) {
        // The hardware tree: pairwise, level by level, an odd last element passing up; it holds
        // the bias leaf first when the bias starts the last stage.
        std::vector<int64_t>& v = l.tree;
        while (v.size() > 1) {
            std::size_t w = 0;
            for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
                const Fitted f = fit(i128{v[i]} + v[i + 1], s.bits, s.overflow);
                l.events += f.event;
                v[w++] = f.value;
            }
            if (v.size() % 2) v[w++] = v.back();
            v.resize(w);
        }
        result = v.empty() ? 0 : v.front();
        // The unbounded twin, as the bounds define it: the same tree over the inputs alone.
        std::vector<i128>& e = l.tree_exact;
        while (e.size() > 1) {
            std::size_t w = 0;
            for (std::size_t i = 0; i + 1 < e.size(); i += 2) {
                e[w] = e[i] + e[i + 1];
                l.observed.include(e[w]);
                ++w;
            }
            if (e.size() % 2) e[w++] = e.back();
            e.resize(w);
        }
        exact = e.empty() ? 0 : e.front();
        v.clear();
        e.clear();
    }
    l.value = 0;
    l.exact = 0;
    l.count = 0;
    if (last(j))
        m_final = result;
    else
        feed(j + 1, result, exact);
}

void StagedAccumulator::finish(DotOutcome& out) {
    const std::size_t n = m_levels.size();
    Level& top = m_levels[n - 1];
    const StageSpec& s = m_spec.stages[n - 1];
    if (s.reduction == Reduction::tree) {
        close_tile(n - 1);
    } else {
        m_final = top.value;
    }
    if (m_bias && m_spec.bias == BiasMode::last) {
        const Fitted f = fit(i128{m_final} + *m_bias, s.bits, s.overflow);
        top.events += f.event;
        m_final = f.value;
    }
    out.events_by_stage.resize(n, 0);
    out.observed_by_stage.resize(n);
    for (std::size_t j = m_first; j < n; ++j) {
        out.events_by_stage[j] = m_levels[j].events;
        out.observed_by_stage[j] = m_levels[j].observed;
    }
    out.final_value = m_final;
    out.exact_dot = m_exact_dot;
    out.exact = m_exact_dot + (m_bias ? *m_bias : 0);
}

}  // namespace accsim
