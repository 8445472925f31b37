// The reference reducer against a deliberately naive, separately written model of the stage
// semantics in datapath/README.md: every stage layout of 1-3 stages (tile lengths, sequential
// and tree, wrap and saturate, every bias mode) over tiny operand formats, exhaustively where the
// input space is small and on a fixed random sample where it is not.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "datapath/reference_reducer.h"

using namespace accsim;

namespace {

// ---- the naive model: lists of lists, wrap by repeated +-2^B, no shared code -------------

struct Naive {
    long long final_value = 0;
    std::vector<long long> events;
    std::vector<long long> lo, hi;  // unbounded partial sums per stage (bias excluded)
};

long long naive_fit(long long v, int bits, bool saturate, long long& events) {
    const long long hi = (1LL << (bits - 1)) - 1;
    const long long lo = -(1LL << (bits - 1));
    if (v >= lo && v <= hi) return v;
    ++events;
    if (saturate) return v > hi ? hi : lo;
    while (v > hi) v -= 1LL << bits;
    while (v < lo) v += 1LL << bits;
    return v;
}

struct NaiveStage {
    int bits;
    bool saturate;
    int length;  // 0: the last stage (one tile)
    bool tree;
};

// Adds one tile. `bounded`: apply the register; otherwise record every partial sum in lo/hi.
long long naive_tile(std::vector<long long> in, const NaiveStage& s, bool bounded,
                     const long long* bias_first, const long long* bias_last, long long& events,
                     long long& lo, long long& hi, bool& seen) {
    auto note = [&](long long v) {
        if (!seen || v < lo) lo = v;
        if (!seen || v > hi) hi = v;
        seen = true;
    };
    auto add = [&](long long a, long long b) {
        const long long v = a + b;
        if (bounded) return naive_fit(v, s.bits, s.saturate, events);
        note(v);
        return v;
    };
    long long r = 0;
    if (!s.tree) {
        if (bias_first) r = add(0, *bias_first);
        for (long long e : in) r = add(r, e);
    } else {
        std::vector<long long> level;
        if (bias_first) in.insert(in.begin(), *bias_first);
        for (long long e : in) {
            if (bounded)
                level.push_back(naive_fit(e, s.bits, s.saturate, events));
            else {
                note(e);
                level.push_back(e);
            }
        }
        while (level.size() > 1) {
            std::vector<long long> up;
            for (std::size_t i = 0; i < level.size(); i += 2)
                up.push_back(i + 1 < level.size() ? add(level[i], level[i + 1]) : level[i]);
            level = up;
        }
        r = level[0];
    }
    if (bias_last) r = add(r, *bias_last);
    return r;
}

Naive naive_reduce(const std::vector<long long>& products, const std::vector<NaiveStage>& stages,
                   int bias_mode, bool has_bias, long long bias) {
    Naive out;
    out.events.assign(stages.size(), 0);
    out.lo.assign(stages.size(), 0);
    out.hi.assign(stages.size(), 0);
    for (int bounded = 1; bounded >= 0; --bounded) {
        std::vector<long long> values = products;
        for (std::size_t j = 0; j < stages.size(); ++j) {
            const bool last = j + 1 == stages.size();
            std::vector<std::vector<long long>> tiles;
            const std::size_t len =
                last ? values.size() : static_cast<std::size_t>(stages[j].length);
            for (std::size_t t = 0; t < values.size(); t += len)
                tiles.emplace_back(values.begin() + t,
                                   values.begin() + std::min(values.size(), t + len));
            std::vector<long long> results;
            bool seen = false;
            long long unused = 0;
            for (const auto& tile : tiles) {
                const bool with_bias = bounded && last && has_bias;
                const long long* bf = with_bias && bias_mode == 1 ? &bias : nullptr;
                const long long* bl = with_bias && bias_mode == 0 ? &bias : nullptr;
                results.push_back(naive_tile(tile, stages[j], bounded, bf, bl,
                                             bounded ? out.events[j] : unused, out.lo[j], out.hi[j],
                                             seen));
            }
            values = results;
        }
        if (bounded) out.final_value = values[0];
    }
    return out;
}

// ---- enumeration ---------------------------------------------------------------------------

struct Layout {
    std::vector<NaiveStage> stages;
    int bias_mode;  // 0 last, 1 first, 2 none
};

AccumulatorSpec to_spec(const Layout& l) {
    AccumulatorSpec a;
    for (const NaiveStage& s : l.stages) {
        StageSpec st;
        st.bits = s.bits;
        st.overflow = s.saturate ? OverflowMode::saturate : OverflowMode::wrap;
        if (s.length) st.length = s.length;
        st.reduction = s.tree ? Reduction::tree : Reduction::sequential;
        a.stages.push_back(st);
    }
    a.bias = l.bias_mode == 0   ? BiasMode::last
             : l.bias_mode == 1 ? BiasMode::first
                                : BiasMode::none;
    return a;
}

// Every layout of `n` stages with tile lengths 1..4, both reductions and policies, all bias
// modes, and the widths given per stage.
void layouts(int n, const std::vector<int>& widths, std::vector<Layout>& out) {
    const int lengths = 4;
    int combos_len = 1;
    for (int j = 0; j + 1 < n; ++j) combos_len *= lengths;
    int combos_w = 1;
    for (int j = 0; j < n; ++j) combos_w *= static_cast<int>(widths.size());
    for (int cl = 0; cl < combos_len; ++cl)
        for (int flags = 0; flags < (1 << (2 * n)); ++flags)
            for (int cw = 0; cw < combos_w; ++cw)
                for (int bias = 0; bias < 3; ++bias) {
                    Layout l;
                    l.bias_mode = bias;
                    int rl = cl, rw = cw;
                    for (int j = 0; j < n; ++j) {
                        NaiveStage s;
                        s.bits = widths[rw % widths.size()];
                        rw /= static_cast<int>(widths.size());
                        s.saturate = (flags >> (2 * j)) & 1;
                        s.tree = (flags >> (2 * j + 1)) & 1;
                        s.length = j + 1 < n ? 1 + rl % lengths : 0;
                        if (j + 1 < n) rl /= lengths;
                        l.stages.push_back(s);
                    }
                    out.push_back(l);
                }
}

struct Format {
    int bits;
    bool is_signed;
    int lo() const { return is_signed ? -(1 << (bits - 1)) : 0; }
    int hi() const { return is_signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1; }
    int count() const { return 1 << bits; }
};

// Compares reference and naive on one product vector and layout; returns 1 if any event fired.
int compare(ReferenceReducer& ref, const Layout& layout, const std::vector<long long>& products,
            long long bias) {
    DotOutcome o;
    std::vector<int64_t> p(products.begin(), products.end());
    // A bias is always given; with bias mode "none" the datapath must ignore it.
    ref.reduce(p.data(), p.size(), bias, o);
    const Naive n = naive_reduce(products, layout.stages, layout.bias_mode, true, bias);
    long long exact = 0;
    for (long long v : products) exact += v;
    if (layout.bias_mode != 2) exact += bias;

    bool same = o.final_value == n.final_value && o.exact == exact;
    for (std::size_t j = 0; j < layout.stages.size(); ++j)
        same = same && o.events_by_stage[j] == static_cast<uint64_t>(n.events[j]) &&
               o.observed_by_stage[j].lo == n.lo[j] && o.observed_by_stage[j].hi == n.hi[j];
    if (!same) {
        std::string desc =
            ref.spec().describe() + " bias " + std::to_string(layout.bias_mode) + " products";
        for (long long v : products) desc += " " + std::to_string(v);
        std::string detail =
            "final " + std::to_string(o.final_value) + " vs " + std::to_string(n.final_value);
        for (std::size_t j = 0; j < layout.stages.size(); ++j)
            detail += "; stage " + std::to_string(j + 1) + " events " +
                      std::to_string(o.events_by_stage[j]) + " vs " + std::to_string(n.events[j]) +
                      ", observed [" + to_string(o.observed_by_stage[j].lo) + ", " +
                      to_string(o.observed_by_stage[j].hi) + "] vs [" + std::to_string(n.lo[j]) +
                      ", " + std::to_string(n.hi[j]) + "]";
        FAIL_CHECK("mismatch for " << desc << ": " << detail << " (reference vs naive)");
    }
    return o.events() > 0;
}

}  // namespace

TEST_CASE(
    "one stage, B = 2..6: every operand vector of 2-3 bit formats with K <= 3, exhaustively") {
    std::vector<Layout> all;
    layouts(1, {2, 3, 4, 5, 6}, all);
    REQUIRE(all.size() == 2 * 2 * 5 * 3);
    long long cases = 0, with_events = 0;
    for (const Format& x : {Format{2, false}, Format{2, true}, Format{3, false}, Format{3, true}})
        for (const Format& q : {Format{2, true}, Format{3, true}, Format{2, false}}) {
            for (int k = 1; k <= 3; ++k) {
                long long space = 1;
                for (int i = 0; i < k; ++i) space *= x.count() * q.count();
                if (space > 4096) continue;  // 3-bit x 3-bit at K = 3 is in the sampled test
                for (long long code = 0; code < space; ++code) {
                    std::vector<long long> products(k);
                    long long c = code;
                    for (int i = 0; i < k; ++i) {
                        const int xv = x.lo() + static_cast<int>(c % x.count());
                        c /= x.count();
                        const int qv = q.lo() + static_cast<int>(c % q.count());
                        c /= q.count();
                        products[i] = static_cast<long long>(xv) * qv;
                    }
                    for (const Layout& l : all) {
                        ReferenceReducer ref(to_spec(l));
                        const long long bias = (code % 7) - 3;
                        with_events += compare(ref, l, products, bias);
                        ++cases;
                    }
                }
            }
        }
    CHECK(cases > 100000);
    CHECK(with_events > cases / 10);  // the widths are narrow enough to overflow often
}

TEST_CASE(
    "every 2- and 3-stage layout (tile lengths 1..4, B = 2..6) on sampled vectors, K = 1..6") {
    std::mt19937_64 rng(20261125);
    const std::vector<Format> xs = {{2, false}, {3, true}, {3, false}, {2, true}};
    const std::vector<Format> qs = {{3, true}, {2, true}};
    long long cases = 0, with_events = 0;
    for (int n = 2; n <= 3; ++n) {
        std::vector<Layout> all;
        layouts(n, n == 2 ? std::vector<int>{2, 3, 4, 5, 6} : std::vector<int>{2, 4, 6}, all);
        for (const Layout& l : all) {
            ReferenceReducer ref(to_spec(l));
            for (int k = 1; k <= 6; ++k) {
                const Format& x = xs[(cases + k) % xs.size()];
                const Format& q = qs[(cases / 3 + k) % qs.size()];
                for (int sample = 0; sample < 2; ++sample) {
                    std::vector<long long> products(k);
                    for (auto& p : products) {
                        // Extremes half of the time: that is where the boundaries are.
                        const bool edge = rng() % 2;
                        const int xv = edge ? (rng() % 2 ? x.lo() : x.hi())
                                            : x.lo() + static_cast<int>(rng() % x.count());
                        const int qv = edge ? (rng() % 2 ? q.lo() : q.hi())
                                            : q.lo() + static_cast<int>(rng() % q.count());
                        p = static_cast<long long>(xv) * qv;
                    }
                    const long long bias = static_cast<long long>(rng() % 41) - 20;
                    with_events += compare(ref, l, products, bias);
                    ++cases;
                }
            }
        }
    }
    CHECK(cases > 100000);
    CHECK(with_events > cases / 10);
}

TEST_CASE("3-stage layouts with every width combination of 2..6 on 3-bit x 3-bit operands") {
    std::mt19937_64 rng(7);
    std::vector<Layout> all;
    layouts(3, {2, 3, 4, 5, 6}, all);
    long long cases = 0;
    for (std::size_t i = 0; i < all.size(); i += 7) {  // a fixed seventh of the 24000 layouts
        ReferenceReducer ref(to_spec(all[i]));
        const int k = 1 + static_cast<int>(i % 6);
        std::vector<long long> products(k);
        for (auto& p : products)
            p = (static_cast<long long>(rng() % 8) - 4) * (static_cast<long long>(rng() % 8) - 4);
        compare(ref, all[i], products, static_cast<long long>(rng() % 9) - 4);
        ++cases;
    }
    CHECK(cases > 3000);
}
