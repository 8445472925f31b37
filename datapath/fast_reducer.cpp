#include "fast_reducer.h"

#include <algorithm>

#include "overflow.h"

namespace accsim {

namespace {

// One tile of a stage in the hardware's replay (CONTRACT section 4), as ReferenceReducer does it.
int64_t tile_bounded(const int64_t* in, std::size_t n, const StageSpec& s,
                     const int64_t* bias_first, const int64_t* bias_last, uint32_t& events,
                     std::vector<int64_t>& tree) {
    int64_t r = 0;
    if (s.reduction == Reduction::sequential) {
        if (bias_first) {
            const Fitted f = fit(i128{*bias_first}, s.bits, s.overflow);
            r = f.value;
            events += f.event;
        }
        for (std::size_t i = 0; i < n; ++i) {
            const Fitted f = fit(i128{r} + in[i], s.bits, s.overflow);
            r = f.value;
            events += f.event;
        }
    } else {
        tree.clear();
        auto load = [&](int64_t v) {
            const Fitted f = fit(i128{v}, s.bits, s.overflow);
            tree.push_back(f.value);
            events += f.event;
        };
        if (bias_first) load(*bias_first);
        for (std::size_t i = 0; i < n; ++i) load(in[i]);
        while (tree.size() > 1) {
            std::size_t w = 0;
            for (std::size_t i = 0; i + 1 < tree.size(); i += 2) {
                const Fitted f = fit(i128{tree[i]} + tree[i + 1], s.bits, s.overflow);
                tree[w++] = f.value;
                events += f.event;
            }
            if (tree.size() % 2) tree[w++] = tree.back();
            tree.resize(w);
        }
        r = tree.front();
    }
    if (bias_last) {
        const Fitted f = fit(i128{r} + *bias_last, s.bits, s.overflow);
        r = f.value;
        events += f.event;
    }
    return r;
}

// One tile of the unbounded replay, recording its partial sums (they fit 64 bits: every one is
// bounded by the sum of |p| of a dot product, < 2^60 for traces accsim accepts).
int64_t tile_unbounded(const int64_t* in, std::size_t n, const StageSpec& s, ValueRange& range,
                       std::vector<int64_t>& tree) {
    if (s.reduction == Reduction::sequential) {
        int64_t r = 0;
        for (std::size_t i = 0; i < n; ++i) {
            r += in[i];
            range.include(r);
        }
        return r;
    }
    tree.assign(in, in + n);
    for (int64_t v : tree) range.include(v);
    while (tree.size() > 1) {
        std::size_t w = 0;
        for (std::size_t i = 0; i + 1 < tree.size(); i += 2) {
            const int64_t v = tree[i] + tree[i + 1];
            range.include(v);
            tree[w++] = v;
        }
        if (tree.size() % 2) tree[w++] = tree.back();
        tree.resize(w);
    }
    return tree.front();
}

// The widest a chunk's partial sums can move up (P+) and down (P-) from where they start.
// A may exceed the true sum of |p| (a kernel's cheaper bound): rounding up keeps both bounds.
inline i128 rise(int64_t s, int64_t a) {
    return (i128{a} + s + 1) / 2;
}
inline i128 fall(int64_t s, int64_t a) {
    return (i128{a} - s + 1) / 2;
}


}  // namespace

FastReducer::FastReducer(const AccumulatorSpec& spec, int64_t k) : m_spec(spec), m_k(k) {
    m_spec.check();
    const int64_t tile = m_spec.stages.size() > 1 ? *m_spec.stages.front().length : k;
    for (int64_t t0 = 0; t0 < k; t0 += tile) {
        const int64_t t1 = std::min(k, t0 + tile);
        for (int64_t c0 = t0; c0 < t1; c0 += k_max_chunk) {
            const int64_t c1 = std::min(t1, c0 + k_max_chunk);
            m_chunks.push_back(Chunk{c0, c1, c0 == t0, c1 == t1});
        }
    }
    std::vector<int64_t> begin;
    for (const Chunk& c : m_chunks) begin.push_back(c.begin);
    begin.push_back(k);
    m_layout = make_chunk_layout(begin);
    m_products.resize(static_cast<std::size_t>(k));
}

PackedWeights FastReducer::pack(const int32_t* q, int64_t cols) const {
    return pack_weights(m_layout, q, cols, m_k, true);
}

void FastReducer::run(const int32_t* x, int64_t rows, const int32_t* q, int64_t cols,
                      const int64_t* bias, OutputBlock& out) {
    run(x, rows, pack(q, cols), 0, cols, bias, out);
}

void FastReducer::run(const int32_t* x, int64_t rows, const PackedWeights& w, int64_t c0,
                      int64_t cols, const int64_t* bias, OutputBlock& out) {
    const std::size_t stages = m_spec.stages.size();
    const int64_t chunks = m_layout.chunks();
    out.rows = rows;
    out.cols = cols;
    out.stages = stages;
    out.final_value.assign(static_cast<std::size_t>(rows * cols), 0);
    out.exact_dot.assign(static_cast<std::size_t>(rows * cols), 0);
    out.events.assign(static_cast<std::size_t>(rows * cols) * stages, 0);
    m_observed.assign(stages, ValueRange{});
    m_seen = Range64{};
    m_s.resize(static_cast<std::size_t>(rows * chunks * cols));
    m_a.resize(m_s.size());

    bool packed = w.packed;
    if (packed) {
        pack_inputs(m_layout, x, rows, m_k, m_x);
        packed = packable(m_x.max_abs, w.max_abs);
    }
    const ChunkSums job{&m_layout, &w, c0, cols, m_s.data(), m_a.data()};
    if (packed)
        chunk_sums_packed(job, m_x);
    else
        chunk_sums_wide(job, x, rows);

    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            const int64_t* s = m_s.data() + r * chunks * cols + c;
            const int64_t* a = m_a.data() + r * chunks * cols + c;
            const std::size_t o = static_cast<std::size_t>(r * cols + c);
            int64_t dot = 0;
            for (int64_t t = 0; t < chunks; ++t) dot += s[t * cols];
            out.exact_dot[o] = dot;
            output(x + r * m_k, w.wide.data() + (c0 + c) * m_k, s, a, cols,
                   bias ? bias + c : nullptr, out.final_value[o], out.events.data() + o * stages);
        }
    }
    if (!m_seen.empty) {
        m_observed[0].include(m_seen.lo);
        m_observed[0].include(m_seen.hi);
    }
    out.observed = m_observed;
}

void FastReducer::output(const int32_t* x, const int32_t* q, const int64_t* s, const int64_t* a,
                         int64_t stride, const int64_t* bias, int64_t& final_value,
                         uint32_t* events) {
    const bool single = m_spec.stages.size() == 1;
    const int64_t* b = bias && m_spec.bias != BiasMode::none ? bias : nullptr;
    const int64_t r = m_spec.stages.front().reduction == Reduction::sequential
                          ? stage1_sequential(x, q, s, a, stride, single ? b : nullptr, events[0])
                          : stage1_tree(x, q, s, a, stride, single ? b : nullptr, events[0]);
    if (single) {
        final_value = r;
        return;
    }
    later_stages(b, final_value, events);
}

int64_t FastReducer::stage1_sequential(const int32_t* x, const int32_t* q, const int64_t* s,
                                       const int64_t* a, int64_t stride, const int64_t* bias,
                                       uint32_t& events) {
    // The hot loop of the replay: 64-bit arithmetic throughout. A register's room above and
    // below its value is exact in unsigned 64-bit (it lies in [0, 2^64)); chunk bounds and
    // unbounded partial sums stay below 2^61.
    const StageSpec& st = m_spec.stages.front();
    const uint64_t lo = static_cast<uint64_t>(static_cast<int64_t>(register_min(st.bits)));
    const uint64_t hi = static_cast<uint64_t>(static_cast<int64_t>(register_max(st.bits)));
    const bool bias_first = bias && m_spec.bias == BiasMode::first;
    const bool bias_last = bias && m_spec.bias == BiasMode::last;
    Range64& seen = m_seen;
    m_bounded.clear();
    m_unbounded.clear();
    int64_t r = 0, u = 0;
    for (std::size_t t = 0; t < m_chunks.size(); ++t) {
        const Chunk& ch = m_chunks[t];
        if (ch.tile_start) {
            r = 0;
            u = 0;
            if (bias_first) {
                const Fitted f = fit(i128{*bias}, st.bits, st.overflow);
                r = f.value;
                events += f.event;
            }
        }
        const int64_t st_sum = s[t * stride], mag = a[t * stride];
        const int64_t up = (mag + st_sum + 1) / 2, down = (mag - st_sum + 1) / 2;
        ++counters.chunks;
        const uint64_t ur = static_cast<uint64_t>(r);
        if (static_cast<uint64_t>(up) <= hi - ur && static_cast<uint64_t>(down) <= ur - lo) {
            r += st_sum;
        } else {
            ++counters.replayed;
            for (int64_t i = ch.begin; i < ch.end; ++i) {
                const Fitted f = fit(i128{r} + int64_t{x[i]} * q[i], st.bits, st.overflow);
                r = f.value;
                events += f.event;
            }
        }
        if (!seen.covers(u - down, u + up)) {
            ++counters.scanned;
            int64_t v = u;
            for (int64_t i = ch.begin; i < ch.end; ++i) {
                v += int64_t{x[i]} * q[i];
                seen.include(v);
            }
        }
        u += st_sum;
        if (ch.tile_end) {
            if (bias_last) {
                const Fitted f = fit(i128{r} + *bias, st.bits, st.overflow);
                r = f.value;
                events += f.event;
            }
            m_bounded.push_back(r);
            m_unbounded.push_back(u);
        }
    }
    return m_bounded.back();
}

int64_t FastReducer::stage1_tree(const int32_t* x, const int32_t* q, const int64_t* s,
                                 const int64_t* a, int64_t stride, const int64_t* bias,
                                 uint32_t& events) {
    const StageSpec& st = m_spec.stages.front();
    const i128 lo = register_min(st.bits), hi = register_max(st.bits);
    const int64_t* bias_first = bias && m_spec.bias == BiasMode::first ? bias : nullptr;
    const int64_t* bias_last = bias && m_spec.bias == BiasMode::last ? bias : nullptr;
    m_bounded.clear();
    m_unbounded.clear();
    std::size_t t = 0;
    while (t < m_chunks.size()) {
        // One tile: its chunks' sums and bounds add up (every tree node is a contiguous sum).
        const std::size_t first = t;
        int64_t sum = 0;
        i128 up = 0, down = 0;
        do {
            sum += s[t * stride];
            up += rise(s[t * stride], a[t * stride]);
            down += fall(s[t * stride], a[t * stride]);
            ++counters.chunks;
        } while (!m_chunks[t++].tile_end);
        const int64_t begin = m_chunks[first].begin, end = m_chunks[t - 1].end;
        const std::size_t n = static_cast<std::size_t>(end - begin);
        bool have_products = false;
        auto products = [&]() {
            if (!have_products)
                for (int64_t i = begin; i < end; ++i) m_products[i - begin] = int64_t{x[i]} * q[i];
            have_products = true;
            return m_products.data();
        };
        // A first bias is the tree's first leaf: it widens the bound by its own size.
        const i128 b = bias_first ? i128{*bias_first} : 0;
        int64_t r;
        if (up + (b > 0 ? b : 0) <= hi && -down + (b < 0 ? b : 0) >= lo) {
            r = static_cast<int64_t>(sum + b);
            if (bias_last) {
                const Fitted f = fit(i128{r} + *bias_last, st.bits, st.overflow);
                r = f.value;
                events += f.event;
            }
        } else {
            ++counters.replayed;
            r = tile_bounded(products(), n, st, bias_first, bias_last, events, m_tree);
        }
        if (!m_seen.covers(static_cast<int64_t>(-down), static_cast<int64_t>(up))) {
            ++counters.scanned;
            ValueRange scanned;
            tile_unbounded(products(), n, st, scanned, m_tree);
            m_seen.include(static_cast<int64_t>(scanned.lo));
            m_seen.include(static_cast<int64_t>(scanned.hi));
        }
        m_bounded.push_back(r);
        m_unbounded.push_back(sum);
    }
    return m_bounded.back();
}

void FastReducer::later_stages(const int64_t* bias, int64_t& final_value, uint32_t* events) {
    const std::size_t n_stages = m_spec.stages.size();
    for (std::size_t j = 1; j < n_stages; ++j) {
        const StageSpec& st = m_spec.stages[j];
        const bool last = j + 1 == n_stages;
        const std::size_t len = last ? m_bounded.size() : static_cast<std::size_t>(*st.length);
        const int64_t* bf = last && bias && m_spec.bias == BiasMode::first ? bias : nullptr;
        const int64_t* bl = last && bias && m_spec.bias == BiasMode::last ? bias : nullptr;
        m_next_bounded.clear();
        m_next_unbounded.clear();
        for (std::size_t t = 0; t < m_bounded.size(); t += len) {
            const std::size_t n = std::min(len, m_bounded.size() - t);
            m_next_bounded.push_back(
                tile_bounded(m_bounded.data() + t, n, st, bf, bl, events[j], m_tree));
            m_next_unbounded.push_back(
                tile_unbounded(m_unbounded.data() + t, n, st, m_observed[j], m_tree));
        }
        std::swap(m_bounded, m_next_bounded);
        std::swap(m_unbounded, m_next_unbounded);
    }
    final_value = m_bounded.front();
}

}  // namespace accsim
