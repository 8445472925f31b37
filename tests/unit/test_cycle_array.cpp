// The cycle-accurate arrays, clocked fold by fold without SystemC: every output they produce
// equals the reference reducer's (values, events per stage, observed ranges), and every fold
// takes exactly the cycles the fold schedule (the transaction-level model) charges for it.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <tuple>

#include "datapath/reference_reducer.h"
#include "models/cycle_array.h"
#include "models/cycle_bank.h"
#include "models/fold_schedule.h"

using namespace accsim;

namespace {

// Random operands for `groups` GEMMs of M x N x K.
class RandomSource : public OperandSource {
  public:
    RandomSource(const LayerWork& w, uint64_t seed, int xr, int qr, bool with_bias) : m_w(w) {
        std::mt19937_64 rng(seed);
        m_x.resize(static_cast<std::size_t>(w.groups * w.m * w.k));
        m_q.resize(static_cast<std::size_t>(w.groups * w.n * w.k));
        for (auto& v : m_x) v = static_cast<int32_t>(rng() % (2 * xr + 1)) - xr;
        for (auto& v : m_q) v = static_cast<int32_t>(rng() % (2 * qr + 1)) - qr;
        if (with_bias)
            for (int64_t i = 0; i < w.groups * w.n; ++i)
                m_b.push_back(static_cast<int64_t>(rng() % 201) - 100);
    }
    void x(int64_t g, int64_t m, int64_t k0, int64_t k1, int32_t* out) const override {
        for (int64_t k = k0; k < k1; ++k)
            *out++ = m_x[static_cast<std::size_t>((g * m_w.m + m) * m_w.k + k)];
    }
    void q(int64_t g, int64_t n, int64_t k0, int64_t k1, int32_t* out) const override {
        for (int64_t k = k0; k < k1; ++k)
            *out++ = m_q[static_cast<std::size_t>((g * m_w.n + n) * m_w.k + k)];
    }
    std::optional<int64_t> bias(int64_t g, int64_t n) const override {
        if (m_b.empty()) return std::nullopt;
        return m_b[static_cast<std::size_t>(g * m_w.n + n)];
    }

  private:
    const LayerWork& m_w;
    std::vector<int32_t> m_x, m_q;
    std::vector<int64_t> m_b;
};

class Collect : public OutputSink {
  public:
    void output(int64_t g, int64_t m, int64_t n, const DotOutcome& d) override {
        got[{g, m, n}] = d;
    }
    void output_block(int64_t, int64_t, int64_t, const OutputBlock&) override {
        FAIL("the cycle-accurate arrays report output by output");
    }
    std::map<std::tuple<int64_t, int64_t, int64_t>, DotOutcome> got;
};

// Runs every fold cycle by cycle; checks cycles per fold and every output against the reference.
void check(const ArraySpec& a, const AccumulatorSpec& acc, const LayerWork& w,
           const RandomSource& src, TimingConvention conv = TimingConvention::native) {
    const FoldSchedule s = schedule_folds(a, w, conv);
    Collect sink;
    CycleBank bank(acc, w.k, &sink);
    for (const Fold& f : s.folds) {
        auto sim = make_fold_sim(a, acc, conv, w, f, &src, &bank);
        int64_t cycles = 0;
        while (!sim->done()) {
            sim->step();
            ++cycles;
        }
        CHECK(cycles == f.compute_cycles);
    }
    REQUIRE(sink.got.size() == static_cast<std::size_t>(w.groups * w.m * w.n));
    ReferenceReducer ref(acc);
    std::vector<int32_t> x(static_cast<std::size_t>(w.k)), q(static_cast<std::size_t>(w.k));
    std::vector<int64_t> p(static_cast<std::size_t>(w.k));
    for (const auto& [key, got] : sink.got) {
        const auto [g, m, n] = key;
        src.x(g, m, 0, w.k, x.data());
        src.q(g, n, 0, w.k, q.data());
        for (int64_t i = 0; i < w.k; ++i) p[i] = int64_t{q[i]} * x[i];
        DotOutcome want;
        ref.reduce(p.data(), p.size(), src.bias(g, n), want);
        CAPTURE(acc.describe());
        CAPTURE(m);
        CAPTURE(n);
        CHECK(got.final_value == want.final_value);
        CHECK(got.exact == want.exact);
        for (std::size_t j = 0; j < acc.stages.size(); ++j) {
            CHECK(got.events_by_stage[j] == want.events_by_stage[j]);
            CHECK(got.observed_by_stage[j].lo == want.observed_by_stage[j].lo);
            CHECK(got.observed_by_stage[j].hi == want.observed_by_stage[j].hi);
        }
    }
}

ArraySpec systolic(int64_t r, int64_t c, Dataflow d) {
    ArraySpec a;
    a.kind = ArrayKind::systolic;
    a.rows = r, a.cols = c, a.dataflow = d;
    return a;
}

AccumulatorSpec stages(std::vector<StageSpec> s, BiasMode bias) {
    AccumulatorSpec a;
    a.stages = std::move(s);
    a.bias = bias;
    return a;
}

StageSpec st(int bits, OverflowMode o, std::optional<int64_t> len = std::nullopt,
             Reduction r = Reduction::sequential) {
    StageSpec s;
    s.bits = bits, s.overflow = o, s.length = len, s.reduction = r;
    return s;
}

LayerWork work(int64_t groups, int64_t m, int64_t n, int64_t k) {
    LayerWork w;
    w.name = "t";
    w.groups = groups, w.m = m, w.n = n, w.k = k;
    w.ifmap_elements = groups * m * k;
    w.filter_elements = groups * n * k;
    return w;
}

constexpr OverflowMode W = OverflowMode::wrap, S = OverflowMode::saturate;

}  // namespace

TEST_CASE("cycle-accurate ws and is arrays: column chains of R products, then the accumulator") {
    for (Dataflow d : {Dataflow::ws, Dataflow::is}) {
        const ArraySpec a = systolic(4, 3, d);
        const LayerWork w = work(2, 5, 7, 11);  // K = 11: row folds of 4, 4 and 3
        const RandomSource src(w, 1, 20, 9, true);
        CAPTURE(to_string(d));
        check(a, stages({st(9, W, 4), st(12, S)}, BiasMode::last), w, src);
        check(a, stages({st(8, S, 4), st(10, W, 2), st(12, W)}, BiasMode::first), w, src);
        check(a, stages({st(10, W)}, BiasMode::first), w,
              src);  // one register chained through the folds
        check(a, stages({st(9, S)}, BiasMode::last), w, src);
        check(a, stages({st(9, W, 4), st(64, W, std::nullopt, Reduction::tree)}, BiasMode::none), w,
              src);
    }
}

TEST_CASE("cycle-accurate os array: each PE keeps its output, with and without SCALE-Sim's drain") {
    const ArraySpec a = systolic(3, 4, Dataflow::os);
    const LayerWork w = work(1, 7, 6, 9);
    const RandomSource src(w, 2, 30, 12, true);
    for (TimingConvention conv : {TimingConvention::native, TimingConvention::scalesim}) {
        check(a, stages({st(10, W)}, BiasMode::last), w, src, conv);
        check(a, stages({st(10, S)}, BiasMode::first), w, src, conv);
        check(a, stages({st(8, W, 3), st(11, S)}, BiasMode::last), w, src,
              conv);  // the PE hands on every 3 products
        check(a,
              stages({st(8, W, 2), st(9, S, 2), st(12, W, std::nullopt, Reduction::tree)},
                     BiasMode::first),
              w, src, conv);
    }
}

TEST_CASE("cycle-accurate vector unit: SIMD adder trees, then the PE accumulators") {
    ArraySpec a;
    a.kind = ArrayKind::vector;
    a.pe = 3, a.simd = 4;
    const LayerWork w = work(2, 4, 7, 10);  // K = 10: trees of 4, 4 and 2
    const RandomSource src(w, 3, 25, 11, true);
    check(a, stages({st(9, W, 4, Reduction::tree), st(11, W)}, BiasMode::last), w, src);
    check(a, stages({st(8, S, 4, Reduction::tree), st(10, S)}, BiasMode::first), w, src);
    check(a, stages({st(9, W, 4, Reduction::tree), st(10, W, 2), st(12, S)}, BiasMode::none), w,
          src);
}

TEST_CASE("random shapes and stage layouts: cycle-accurate arrays against the reference") {
    std::mt19937_64 rng(31);
    for (int trial = 0; trial < 60; ++trial) {
        const int64_t r = 1 + static_cast<int64_t>(rng() % 5),
                      c = 1 + static_cast<int64_t>(rng() % 5);
        const Dataflow d = static_cast<Dataflow>(rng() % 3);
        const ArraySpec a = systolic(r, c, d);
        const LayerWork w =
            work(1 + static_cast<int64_t>(rng() % 2), 1 + static_cast<int64_t>(rng() % 6),
                 1 + static_cast<int64_t>(rng() % 6), 1 + static_cast<int64_t>(rng() % 13));
        const RandomSource src(w, rng(), 40, 20, rng() % 2);
        std::vector<StageSpec> s;
        const OverflowMode o1 = rng() % 2 ? W : S, o2 = rng() % 2 ? W : S;
        const int b1 = 6 + static_cast<int>(rng() % 6), b2 = b1 + static_cast<int>(rng() % 4);
        if (rng() % 3 == 0) {
            s = {st(b1, o1)};
        } else {
            // ws/is: stage 1 must be the column of r products; os: any length
            const int64_t len = d == Dataflow::os ? 1 + static_cast<int64_t>(rng() % 4) : r;
            s = {st(b1, o1, len), st(b2, o2)};
        }
        CAPTURE(trial);
        check(a, stages(s, static_cast<BiasMode>(rng() % 3)), w, src);
    }
}
