#include "fast_reducer.h"

#include <algorithm>
#include <climits>

#include "lane_replay.h"
#include "lane_screen.h"
#include "lane_stage.h"
#include "overflow.h"
#include "quad_kernels.h"

namespace accsim {

namespace {

// A register of `bits` <= 62 taking the exact 64-bit value v (wrap or clamp), counting an event;
// wider registers and sums beyond 64 bits go through fit() in 128 bits.
struct Narrow {
    const StageSpec& s;
    int64_t lo, hi;
    int shift;
    bool fast;
    explicit Narrow(const StageSpec& st)
        : s(st),
          lo(static_cast<int64_t>(register_min(st.bits))),
          hi(static_cast<int64_t>(register_max(st.bits))),
          shift(64 - st.bits),
          fast(st.bits <= 62) {}
    int64_t operator()(int64_t v, uint32_t& events) const {
        const int64_t f = s.overflow == OverflowMode::wrap
                              ? static_cast<int64_t>(static_cast<uint64_t>(v) << shift) >> shift
                              : (v < lo   ? lo
                                 : v > hi ? hi
                                          : v);
        events += f != v;
        return f;
    }
    // a + b into the register.
    int64_t add(int64_t a, int64_t b, uint32_t& events) const {
        int64_t v;
        if (fast && !__builtin_add_overflow(a, b, &v)) return (*this)(v, events);
        const Fitted f = fit(i128{a} + b, s.bits, s.overflow);
        events += f.event;
        return f.value;
    }
    int64_t load(int64_t v, uint32_t& events) const {
        if (fast) return (*this)(v, events);
        const Fitted f = fit(i128{v}, s.bits, s.overflow);
        events += f.event;
        return f.value;
    }
};

// One tile of a stage in the hardware's replay (datapath/README.md), as ReferenceReducer does it.
int64_t tile_bounded(const int64_t* in, std::size_t n, const StageSpec& s,
                     const int64_t* bias_first, const int64_t* bias_last, uint32_t& events,
                     std::vector<int64_t>& tree) {
    const Narrow reg(s);
    int64_t r = 0;
    if (s.reduction == Reduction::sequential) {
        if (bias_first) r = reg.load(*bias_first, events);
        for (std::size_t i = 0; i < n; ++i) r = reg.add(r, in[i], events);
    } else {
        tree.clear();
        if (bias_first) tree.push_back(reg.load(*bias_first, events));
        for (std::size_t i = 0; i < n; ++i) tree.push_back(reg.load(in[i], events));
        while (tree.size() > 1) {
            std::size_t w = 0;
            for (std::size_t i = 0; i + 1 < tree.size(); i += 2)
                tree[w++] = reg.add(tree[i], tree[i + 1], events);
            if (tree.size() % 2) tree[w++] = tree.back();
            tree.resize(w);
        }
        r = tree.front();
    }
    if (bias_last) r = reg.add(r, *bias_last, events);
    return r;
}

// One tile of the unbounded replay, recording its partial sums (they fit 64 bits: every one is
// bounded by the sum of |p| of a dot product, < 2^60 for traces accsim accepts).
int64_t tile_unbounded(const int64_t* in, std::size_t n, const StageSpec& s, ValueRange& range,
                       std::vector<int64_t>& tree) {
    if (s.reduction == Reduction::sequential) {
        int64_t r = 0, lo = INT64_MAX, hi = INT64_MIN;
        for (std::size_t i = 0; i < n; ++i) {
            r += in[i];
            lo = std::min(lo, r);
            hi = std::max(hi, r);
        }
        if (n > 0) {
            range.include(lo);
            range.include(hi);
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

// A block's packed inputs, chunk sums and magnitudes ([row][chunk][col]): megabytes for long dot
// products, so every thread keeps one set and reuses it across blocks and layers.
struct BlockScratch {
    PackedInputs x;
    QuadInputs xq;
    std::vector<int64_t> s, a;
};
BlockScratch& block_scratch() {
    thread_local BlockScratch scratch;
    return scratch;
}

}  // namespace

void FastReducer::Seen::include(int64_t v) {
    if (empty) {
        lo = hi = v;
        empty = false;
    } else {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
        if (v >= width_lo && v <= width_hi) return;
    }
    const int bits = signed_bits(i128{lo}, i128{hi});
    width_lo = static_cast<int64_t>(register_min(bits));
    width_hi = static_cast<int64_t>(register_max(bits));
}

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
    for (const Chunk& c : m_chunks) m_tiles += c.tile_end;
    m_products.resize(static_cast<std::size_t>(k));
}

PackedWeights FastReducer::pack(const int32_t* q, int64_t cols, int threads,
                                bool byte_inputs) const {
    return pack_weights(m_layout, q, cols, m_k, true, threads, byte_inputs && quads_in_use());
}

void FastReducer::run(const int32_t* x, int64_t rows, const int32_t* q, int64_t cols,
                      const int64_t* bias, OutputBlock& out) {
    // Every input is here: bytes (unsigned, or signed) allow the quad layout.
    const auto [lo, hi] = std::minmax_element(x, x + rows * m_k);
    const bool bytes = rows * m_k == 0 || (*lo >= 0 ? *hi <= 255 : *lo >= -128 && *hi <= 127);
    run(x, rows, pack(q, cols, 1, bytes), 0, cols, bias, out);
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
    m_seen = Seen{};
    BlockScratch& sc = block_scratch();
    // Chunk sums are made and used one column group and a few rows at a time, so that they are
    // still in the cache when the screens read them: [row][chunk][lane].
    constexpr int64_t k_sub_rows = 8;
    sc.s.resize(static_cast<std::size_t>(k_sub_rows * chunks * k_lanes));
    sc.a.resize(sc.s.size());

    bool packed = w.packed, quads = w.quads;
    if (packed) {
        pack_inputs(m_layout, x, rows, m_k, sc.x);
        packed = packable(sc.x.max_abs, w.max_abs);
    }
    if (quads) {
        pack_input_quads(m_layout, x, rows, m_k, sc.xq);
        quads = sc.xq.fits;  // else the wide path
    }
    const bool sequential = m_spec.stages.front().reduction == Reduction::sequential;
    for (int64_t c = 0; c < cols; c += k_lanes) {
        const int64_t lanes = std::min(k_lanes, cols - c);
        const int32_t* q[k_lanes];
        for (int64_t l = 0; l < lanes; ++l) q[l] = w.wide + (c0 + c + l) * m_k;
        const int64_t group = (c0 + c) / k_pack_cols;
        LaneSource src;
        if (packed) src.w = w.q.data() + group * m_layout.pairs() * k_pack_cols;
        if (quads) src.w = w.q4.data() + group * m_layout.quads() * k_pack_cols;
        src.quads = quads;
        src.x_signed = quads && sc.xq.is_signed;
        for (int64_t r0 = 0; r0 < rows; r0 += k_sub_rows) {
            const int64_t nr = std::min(k_sub_rows, rows - r0);
            const ChunkSums job{&m_layout, &w, c0 + c, lanes, sc.s.data(), sc.a.data()};
            if (quads)
                chunk_sums_quads(job, sc.xq, r0, nr);
            else if (packed)
                chunk_sums_packed(job, sc.x, r0, nr);
            else
                chunk_sums_wide(job, x + r0 * m_k, nr);
            for (int64_t r = r0; r < r0 + nr; ++r) {
                const int64_t* s_row = sc.s.data() + (r - r0) * chunks * lanes;
                const int64_t* a_row = sc.a.data() + (r - r0) * chunks * lanes;
                const std::size_t o = static_cast<std::size_t>(r * cols + c);
                if (sequential) {
                    LaneSource row_src = src;
                    if (packed) row_src.x = sc.x.x.data() + r * m_layout.pairs();
                    if (quads) row_src.x = sc.xq.x.data() + r * m_layout.quads();
                    sequential_lanes(x + r * m_k, q, row_src, s_row, a_row, lanes, lanes,
                                     bias ? bias + c : nullptr, out, o);
                    continue;
                }
                for (int64_t l = 0; l < lanes; ++l)
                    tree_output(x + r * m_k, q[l], s_row + l, a_row + l, lanes,
                                bias ? bias + c + l : nullptr, out,
                                o + static_cast<std::size_t>(l));
            }
        }
    }
    if (!m_seen.empty) {
        m_observed[0].include(m_seen.lo);
        m_observed[0].include(m_seen.hi);
    }
    out.observed = m_observed;
}

void FastReducer::sequential_lanes(const int32_t* x, const int32_t* const* q, const LaneSource& src,
                                   const int64_t* s, const int64_t* a, int64_t stride,
                                   int64_t lanes, const int64_t* bias, OutputBlock& out,
                                   std::size_t o0) {
    // The hot loop of the replay, in 64-bit arithmetic: a register's room above and below its
    // value is exact in unsigned 64-bit; chunk bounds and unbounded partial sums stay below 2^61.
    const std::size_t n_stages = m_spec.stages.size();
    const bool single = n_stages == 1;
    const StageSpec& st = m_spec.stages.front();
    const uint64_t lo = static_cast<uint64_t>(static_cast<int64_t>(register_min(st.bits)));
    const uint64_t hi = static_cast<uint64_t>(static_cast<int64_t>(register_max(st.bits)));
    const bool adds_bias = single && bias && m_spec.bias != BiasMode::none;
    const bool bias_first = adds_bias && m_spec.bias == BiasMode::first;
    const bool bias_last = adds_bias && m_spec.bias == BiasMode::last;
    const bool safe = m_stage1_safe;
    const bool lanes_replay = src.x && src.w && lane_replay_fits(st.bits);
    const std::size_t tiles = m_tiles;
    m_lane_bounded.resize(static_cast<std::size_t>(k_lanes) * tiles);
    m_lane_unbounded.resize(m_lane_bounded.size());
    int64_t R[k_lanes] = {}, U[k_lanes] = {}, dot[k_lanes] = {};
    uint32_t ev[k_lanes] = {};
    std::size_t tile = 0;
    std::size_t run = 1;  // chunks to replay in one go while they keep failing the screen
    for (std::size_t t = 0; t < m_chunks.size(); ++t) {
        const Chunk& ch = m_chunks[t];
        const int64_t* S = s + static_cast<int64_t>(t) * stride;
        const int64_t* A = a + static_cast<int64_t>(t) * stride;
        if (ch.tile_start)
            for (int64_t l = 0; l < lanes; ++l) {
                U[l] = 0;
                R[l] = 0;
                if (bias_first) {
                    const Fitted f = fit(i128{bias[l]}, st.bits, st.overflow);
                    R[l] = f.value;
                    ev[l] += f.event;
                }
            }
        counters.chunks += static_cast<uint64_t>(lanes);
        // Screens: the register keeps room for the chunk's rise and fall, and the observed
        // width already covers where its partial sums can go (lane_screen.h).
        const LaneScreen screen{static_cast<int64_t>(lo), static_cast<int64_t>(hi), safe,
                                m_seen.width_lo,          m_seen.width_hi,          !m_seen.empty};
        uint32_t fits = 0;
        if (lanes == k_lanes) {
            fits = screen_lanes(screen, S, A, R, U, dot);
        } else {
            bool all = screen.seen;
            for (int64_t l = 0; l < lanes; ++l) {
                const int64_t up = (A[l] + S[l] + 1) / 2, down = (A[l] - S[l] + 1) / 2;
                const uint64_t ur = static_cast<uint64_t>(R[l]);
                const bool reg = safe || (static_cast<uint64_t>(up) <= hi - ur &&
                                          static_cast<uint64_t>(down) <= ur - lo);
                fits |= static_cast<uint32_t>(reg) << l;
                all = all && reg && U[l] - down >= m_seen.width_lo && U[l] + up <= m_seen.width_hi;
            }
            if (all) {
                for (int64_t l = 0; l < lanes; ++l) {
                    R[l] += S[l];
                    U[l] += S[l];
                    dot[l] += S[l];
                }
                fits |= k_all_lanes_taken;
            }
        }
        if (fits & k_all_lanes_taken) {
            run = 1;
        } else {
            const uint32_t every = (1u << lanes) - 1;
            if ((fits & every) != every && lanes_replay) {
                // Every lane through the chunk at once (a lane that could have skipped it ends
                // where R + S would, without an event); while chunks keep failing the screen,
                // through the next 2, 4, ... 64 chunks of the tile in the same call.
                std::size_t last = t;
                while (!m_chunks[last].tile_end && last + 1 < t + run) ++last;
                run = std::min<std::size_t>(2 * run, 64);
                int32_t r32[k_lanes] = {};
                uint32_t added[k_lanes] = {};
                for (int64_t l = 0; l < lanes; ++l) r32[l] = static_cast<int32_t>(R[l]);
                const bool wrap = st.overflow == OverflowMode::wrap;
                if (src.quads)
                    replay_lanes_quads(src.x, src.x_signed, src.w, m_layout.quad_begin[t],
                                       m_layout.quad_begin[last + 1], st.bits, wrap, r32, added);
                else
                    replay_lanes(src.x, src.w, m_layout.pair_begin[t],
                                 m_layout.pair_begin[last + 1], st.bits, wrap, r32, added);
                for (int64_t l = 0; l < lanes; ++l) {
                    R[l] = r32[l];
                    ev[l] += added[l];
                }
                counters.replayed += static_cast<uint64_t>(lanes) * (last - t + 1);
                counters.chunks += static_cast<uint64_t>(lanes) * (last - t);
                for (; t < last; ++t)
                    observe_chunk(x, q, t, lanes, s + static_cast<int64_t>(t) * stride,
                                  a + static_cast<int64_t>(t) * stride, U, dot);
                observe_chunk(x, q, t, lanes, s + static_cast<int64_t>(t) * stride,
                              a + static_cast<int64_t>(t) * stride, U, dot);
            } else {
                for (int64_t l = 0; l < lanes; ++l) {
                    if (fits >> l & 1) {
                        R[l] += S[l];
                    } else {
                        ++counters.replayed;
                        R[l] = replay_chunk(x, q[l], ch.begin, ch.end, R[l], st, ev[l]);
                    }
                }
                observe_chunk(x, q, t, lanes, S, A, U, dot);
            }
        }
        if (m_chunks[t].tile_end) {
            for (int64_t l = 0; l < lanes; ++l) {
                if (bias_last) {
                    const Fitted f = fit(i128{R[l]} + bias[l], st.bits, st.overflow);
                    R[l] = f.value;
                    ev[l] += f.event;
                }
                m_lane_bounded[tile * k_lanes + l] = R[l];
                m_lane_unbounded[tile * k_lanes + l] = U[l];
            }
            for (int64_t l = lanes; l < k_lanes; ++l)  // lanes past the block's last column
                m_lane_bounded[tile * k_lanes + l] = m_lane_unbounded[tile * k_lanes + l] = 0;
            ++tile;
        }
    }
    for (int64_t l = 0; l < lanes; ++l) {
        const std::size_t o = o0 + static_cast<std::size_t>(l);
        out.exact_dot[o] = dot[l];
        out.events[o * n_stages] = ev[l];
        if (single) out.final_value[o] = R[l];
    }
    if (single) return;
    const StageSpec& last = m_spec.stages.back();
    if (n_stages == 2 && last.reduction == Reduction::sequential && last.bits <= 62) {
        finish_two_stages(lanes, bias, out, o0);
        return;
    }
    // Any other layout: each lane's tile results, side by side, through the general replay.
    m_stage1_bounded.resize(tiles);
    m_stage1_unbounded.resize(tiles);
    for (int64_t l = 0; l < lanes; ++l) {
        const std::size_t o = o0 + static_cast<std::size_t>(l);
        for (std::size_t t = 0; t < tiles; ++t) {
            m_stage1_bounded[t] = m_lane_bounded[t * k_lanes + l];
            m_stage1_unbounded[t] = m_lane_unbounded[t * k_lanes + l];
        }
        const int64_t* b = bias && m_spec.bias != BiasMode::none ? bias + l : nullptr;
        later_stages(m_stage1_bounded.data(), m_stage1_unbounded.data(), tiles, b,
                     out.final_value[o], out.events.data() + o * n_stages);
    }
}

void FastReducer::finish_two_stages(int64_t lanes, const int64_t* bias, OutputBlock& out,
                                    std::size_t o0) {
    // Stage 2 of 2, sequential, at most 62 bits: one tile over every stage-1 result, as
    // tile_bounded and tile_unbounded replay it, for all lanes at once. Every operand is below
    // 2^61, so r + in is exact in 64 bits; only a 64-bit bias needs the 128-bit path.
    const StageSpec& st = m_spec.stages[1];
    const bool has_bias = bias && m_spec.bias != BiasMode::none;
    const std::size_t tiles = m_tiles;
    int64_t r[k_lanes] = {}, ulo[k_lanes], uhi[k_lanes];
    uint32_t e[k_lanes] = {};
    for (int64_t l = 0; l < k_lanes; ++l) {
        ulo[l] = INT64_MAX;
        uhi[l] = INT64_MIN;
    }
    if (has_bias && m_spec.bias == BiasMode::first)
        for (int64_t l = 0; l < lanes; ++l) {
            const Fitted f = fit(i128{bias[l]}, st.bits, st.overflow);
            r[l] = f.value;
            e[l] += f.event;
        }
    last_stage_lanes(m_lane_bounded.data(), m_lane_unbounded.data(), tiles,
                     LastStage{st.bits, st.overflow == OverflowMode::wrap}, r, e, ulo, uhi);
    const std::size_t n_stages = m_spec.stages.size();
    for (int64_t l = 0; l < lanes; ++l) {
        if (has_bias && m_spec.bias == BiasMode::last) {
            const Fitted f = fit(i128{r[l]} + bias[l], st.bits, st.overflow);
            r[l] = f.value;
            e[l] += f.event;
        }
        const std::size_t o = o0 + static_cast<std::size_t>(l);
        out.final_value[o] = r[l];
        out.events[o * n_stages + 1] = e[l];
        m_observed[1].include(ulo[l]);
        m_observed[1].include(uhi[l]);
    }
}

void FastReducer::observe_chunk(const int32_t* x, const int32_t* const* q, std::size_t t,
                                int64_t lanes, const int64_t* S, const int64_t* A, int64_t* U,
                                int64_t* dot) {
    // Lanes the observed width covers now stay covered: it only grows. The others are checked
    // again one by one (a scan may have widened it) and scanned if need be.
    const Chunk& ch = m_chunks[t];
    const LaneScreen screen{0, 0, true, m_seen.width_lo, m_seen.width_hi, !m_seen.empty};
    const uint32_t covered = lanes == k_lanes ? covered_lanes(screen, S, A, U) : 0;
    for (int64_t l = 0; l < lanes; ++l) {
        if (covered >> l & 1) continue;
        const int64_t up = (A[l] + S[l] + 1) / 2, down = (A[l] - S[l] + 1) / 2;
        if (!m_seen.covers(U[l] - down, U[l] + up)) {
            ++counters.scanned;
            int64_t v = U[l];
            for (int64_t i = ch.begin; i < ch.end; ++i) {
                v += int64_t{x[i]} * q[l][i];
                m_seen.include(v);
            }
        }
    }
    for (int64_t l = 0; l < lanes; ++l) {
        U[l] += S[l];
        dot[l] += S[l];
    }
}

int64_t FastReducer::replay_chunk(const int32_t* x, const int32_t* q, int64_t begin, int64_t end,
                                  int64_t r, const StageSpec& st, uint32_t& events) {
    if (st.bits <= 62) {
        // r and every product below 2^61 and 2^32: their sum is exact in 64 bits.
        const int64_t lo = -(int64_t{1} << (st.bits - 1)), hi = (int64_t{1} << (st.bits - 1)) - 1;
        const int shift = 64 - st.bits;
        if (st.overflow == OverflowMode::wrap) {
            for (int64_t i = begin; i < end; ++i) {
                const int64_t v = r + int64_t{x[i]} * q[i];
                r = static_cast<int64_t>(static_cast<uint64_t>(v) << shift) >> shift;
                events += r != v;
            }
        } else {
            for (int64_t i = begin; i < end; ++i) {
                const int64_t v = r + int64_t{x[i]} * q[i];
                r = v < lo ? lo : v > hi ? hi : v;
                events += r != v;
            }
        }
        return r;
    }
    for (int64_t i = begin; i < end; ++i) {
        const Fitted f = fit(i128{r} + int64_t{x[i]} * q[i], st.bits, st.overflow);
        r = f.value;
        events += f.event;
    }
    return r;
}

void FastReducer::tree_output(const int32_t* x, const int32_t* q, const int64_t* s,
                              const int64_t* a, int64_t stride, const int64_t* bias,
                              OutputBlock& out, std::size_t o) {
    const std::size_t n_stages = m_spec.stages.size();
    const bool single = n_stages == 1;
    const int64_t* b = bias && m_spec.bias != BiasMode::none ? bias : nullptr;
    const int64_t* bias_first = single && b && m_spec.bias == BiasMode::first ? b : nullptr;
    const int64_t* bias_last = single && b && m_spec.bias == BiasMode::last ? b : nullptr;
    const StageSpec& st = m_spec.stages.front();
    const i128 lo = register_min(st.bits), hi = register_max(st.bits);
    uint32_t* events = out.events.data() + o * n_stages;
    m_bounded.clear();
    m_unbounded.clear();
    int64_t dot = 0;
    std::size_t t = 0;
    while (t < m_chunks.size()) {
        // One tile: its chunks' sums and bounds add up (every tree node is a contiguous sum).
        const std::size_t first = t;
        int64_t sum = 0;
        i128 up = 0, down = 0;
        do {
            const int64_t sv = s[static_cast<int64_t>(t) * stride];
            const int64_t av = a[static_cast<int64_t>(t) * stride];
            sum += sv;
            up += rise(sv, av);
            down += fall(sv, av);
            ++counters.chunks;
        } while (!m_chunks[t++].tile_end);
        dot += sum;
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
        const i128 bv = bias_first ? i128{*bias_first} : 0;
        int64_t r;
        if (m_stage1_safe || (up + (bv > 0 ? bv : 0) <= hi && -down + (bv < 0 ? bv : 0) >= lo)) {
            r = static_cast<int64_t>(sum + bv);
            if (bias_last) {
                const Fitted f = fit(i128{r} + *bias_last, st.bits, st.overflow);
                r = f.value;
                events[0] += f.event;
            }
        } else {
            ++counters.replayed;
            r = tile_bounded(products(), n, st, bias_first, bias_last, events[0], m_tree);
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
    out.exact_dot[o] = dot;
    if (single) {
        out.final_value[o] = m_bounded.back();
        return;
    }
    m_stage1_bounded.swap(m_bounded);
    m_stage1_unbounded.swap(m_unbounded);
    later_stages(m_stage1_bounded.data(), m_stage1_unbounded.data(), m_stage1_bounded.size(), b,
                 out.final_value[o], events);
}

void FastReducer::later_stages(const int64_t* bounded, const int64_t* unbounded, std::size_t n,
                               const int64_t* bias, int64_t& final_value, uint32_t* events) {
    // Stage j's inputs: the caller's arrays for stage 2, then this reducer's buffers.
    const std::size_t n_stages = m_spec.stages.size();
    for (std::size_t j = 1; j < n_stages; ++j) {
        const StageSpec& st = m_spec.stages[j];
        const bool last = j + 1 == n_stages;
        const int64_t* bf = last && bias && m_spec.bias == BiasMode::first ? bias : nullptr;
        const int64_t* bl = last && bias && m_spec.bias == BiasMode::last ? bias : nullptr;
        if (last) {
            // One tile: the output.
            final_value = tile_bounded(bounded, n, st, bf, bl, events[j], m_tree);
            tile_unbounded(unbounded, n, st, m_observed[j], m_tree);
            return;
        }
        const std::size_t len = static_cast<std::size_t>(*st.length);
        m_next_bounded.clear();
        m_next_unbounded.clear();
        for (std::size_t t = 0; t < n; t += len) {
            const std::size_t m = std::min(len, n - t);
            m_next_bounded.push_back(tile_bounded(bounded + t, m, st, bf, bl, events[j], m_tree));
            m_next_unbounded.push_back(tile_unbounded(unbounded + t, m, st, m_observed[j], m_tree));
        }
        std::swap(m_bounded, m_next_bounded);
        std::swap(m_unbounded, m_next_unbounded);
        bounded = m_bounded.data();
        unbounded = m_unbounded.data();
        n = m_bounded.size();
    }
}

}  // namespace accsim
