#include "reference_reducer.h"

namespace accsim {

ReferenceReducer::ReferenceReducer(AccumulatorSpec spec) : m_spec(std::move(spec)) {
    m_spec.check();
}

void ReferenceReducer::reduce(const int64_t* products, std::size_t k, std::optional<int64_t> bias,
                              DotOutcome& out) {
    const std::size_t n_stages = m_spec.stages.size();
    out.events_by_stage.assign(n_stages, 0);
    out.observed_by_stage.assign(n_stages, ValueRange{});

    i128 exact_dot = 0;
    for (std::size_t i = 0; i < k; ++i) exact_dot += products[i];
    out.exact_dot = exact_dot;
    const bool adds_bias = bias && m_spec.bias != BiasMode::none;
    out.exact = exact_dot + (adds_bias ? *bias : 0);

    // Bounded replay: stage j's tile results feed stage j+1.
    std::vector<int64_t>* in = &m_bounded[0];
    std::vector<int64_t>* next = &m_bounded[1];
    in->assign(products, products + k);
    for (std::size_t j = 0; j < n_stages; ++j) {
        const StageSpec& s = m_spec.stages[j];
        const bool last = j + 1 == n_stages;
        const std::size_t len = last ? in->size() : static_cast<std::size_t>(*s.length);
        next->clear();
        for (std::size_t t = 0; t < in->size(); t += len) {
            const std::size_t n = std::min(len, in->size() - t);
            const int64_t* bf =
                last && adds_bias && m_spec.bias == BiasMode::first ? &*bias : nullptr;
            const int64_t* bl =
                last && adds_bias && m_spec.bias == BiasMode::last ? &*bias : nullptr;
            next->push_back(tile_bounded(in->data() + t, n, s, bf, bl, out.events_by_stage[j]));
        }
        std::swap(in, next);
    }
    out.final_value = in->front();

    // Unbounded replay (bias excluded, as all bounds are): the partial sums that occur.
    std::vector<i128>* win = &m_unbounded[0];
    std::vector<i128>* wnext = &m_unbounded[1];
    win->assign(products, products + k);
    for (std::size_t j = 0; j < n_stages; ++j) {
        const StageSpec& s = m_spec.stages[j];
        const bool last = j + 1 == n_stages;
        const std::size_t len = last ? win->size() : static_cast<std::size_t>(*s.length);
        wnext->clear();
        for (std::size_t t = 0; t < win->size(); t += len) {
            const std::size_t n = std::min(len, win->size() - t);
            wnext->push_back(tile_unbounded(win->data() + t, n, s, out.observed_by_stage[j]));
        }
        std::swap(win, wnext);
    }
}

int64_t ReferenceReducer::tile_bounded(const int64_t* in, std::size_t n, const StageSpec& s,
                                       const int64_t* bias_first, const int64_t* bias_last,
                                       uint64_t& events) {
    int64_t r = 0;
    if (s.reduction == Reduction::sequential) {
        if (bias_first) {
            const Fitted f = fit(i128{0} + *bias_first, s.bits, s.overflow);
            r = f.value;
            events += f.event;
        }
        for (std::size_t i = 0; i < n; ++i) {
            const Fitted f = fit(i128{r} + in[i], s.bits, s.overflow);
            r = f.value;
            events += f.event;
        }
    } else {
        // Tree: load every input (the bias first, if it starts the register), then add
        // neighbours pairwise, level by level; an odd last element passes up unchanged.
        m_tree.clear();
        auto load = [&](int64_t v) {
            const Fitted f = fit(v, s.bits, s.overflow);
            m_tree.push_back(f.value);
            events += f.event;
        };
        if (bias_first) load(*bias_first);
        for (std::size_t i = 0; i < n; ++i) load(in[i]);
        while (m_tree.size() > 1) {
            std::size_t w = 0;
            for (std::size_t i = 0; i + 1 < m_tree.size(); i += 2) {
                const Fitted f = fit(i128{m_tree[i]} + m_tree[i + 1], s.bits, s.overflow);
                m_tree[w++] = f.value;
                events += f.event;
            }
            if (m_tree.size() % 2) m_tree[w++] = m_tree.back();
            m_tree.resize(w);
        }
        r = m_tree.front();
    }
    if (bias_last) {
        const Fitted f = fit(i128{r} + *bias_last, s.bits, s.overflow);
        r = f.value;
        events += f.event;
    }
    return r;
}

i128 ReferenceReducer::tile_unbounded(const i128* in, std::size_t n, const StageSpec& s,
                                      ValueRange& range) {
    if (s.reduction == Reduction::sequential) {
        i128 r = 0;
        for (std::size_t i = 0; i < n; ++i) {
            r += in[i];
            range.include(r);
        }
        return r;
    }
    m_tree_wide.assign(in, in + n);
    for (i128 v : m_tree_wide) range.include(v);
    while (m_tree_wide.size() > 1) {
        std::size_t w = 0;
        for (std::size_t i = 0; i + 1 < m_tree_wide.size(); i += 2) {
            const i128 v = m_tree_wide[i] + m_tree_wide[i + 1];
            range.include(v);
            m_tree_wide[w++] = v;
        }
        if (m_tree_wide.size() % 2) m_tree_wide[w++] = m_tree_wide.back();
        m_tree_wide.resize(w);
    }
    return m_tree_wide.front();
}

}  // namespace accsim
