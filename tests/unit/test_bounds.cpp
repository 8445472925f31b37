// Accumulator bounds: the A2Q papers' check values, the closed forms against the papers' floating
// point formulas, the ordering observed <= exact <= a2q <= datatype, and the exact bound being
// reached by the adversarial input.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "datapath/bounds.h"
#include "datapath/reference_reducer.h"
#include "datapath/static_bounds.h"

using namespace accsim;

namespace {

OperandFormat fmt(int bits, bool s) {
    return OperandFormat{bits, s};
}

// The papers' formulas in floating point, written as printed.
int datatype_float(double k, int n, int m, bool sx) {
    const double a = std::log2(k) + n + m - 1 - (sx ? 1 : 0);
    return static_cast<int>(std::ceil(a + std::log2(1 + std::pow(2.0, -a)) + 1));
}
int a2q_float(double l1, int n, bool sx) {
    const double b = std::log2(l1) + n - (sx ? 1 : 0);
    return static_cast<int>(std::ceil(b + std::log2(1 + std::pow(2.0, -b)) + 1));
}
int a2q_plus_float(double l1, int n) {
    return static_cast<int>(std::ceil(std::log2(l1 * (std::pow(2.0, n) - 1) + 2)));
}

AccumulatorSpec one_stage(int bits) {
    AccumulatorSpec a;
    a.stages.push_back(StageSpec{bits, OverflowMode::wrap, std::nullopt, Reduction::sequential});
    return a;
}

}  // namespace

TEST_CASE("data-type bound check values from the A2Q papers") {
    CHECK(datatype_bits(128, fmt(4, false), fmt(4, true)) == 16);
    CHECK(datatype_bits(128, fmt(4, true), fmt(4, true)) == 15);
    CHECK(datatype_bits(128, fmt(8, false), fmt(4, true)) == 20);
    CHECK(datatype_bits(4608, fmt(8, false), fmt(8, true)) == 29);
    CHECK(datatype_bits(4608, fmt(8, true), fmt(8, true)) == 28);
}

TEST_CASE("A2Q budget examples: P = 16, N = 8 allows ||q||_1 up to 127 unsigned, 255 signed") {
    CHECK(a2q_bits(127, fmt(8, false)) == 16);
    CHECK(a2q_bits(128, fmt(8, false)) == 17);
    CHECK(a2q_bits(255, fmt(8, true)) == 16);
    CHECK(a2q_bits(256, fmt(8, true)) == 17);
    CHECK(a2q_bits(0, fmt(8, true)) == 1);
    CHECK(a2q_plus_bits(0, fmt(8, false)) == 1);
}

TEST_CASE("the integer closed forms equal the papers' floating-point formulas") {
    for (int k : {1, 2, 3, 7, 27, 100, 128, 1000, 4608, 65536})
        for (int n = 1; n <= 16; ++n)
            for (int m = 2; m <= 16; m += 3)
                for (bool sx : {false, true}) {
                    CAPTURE(k);
                    CAPTURE(n);
                    CAPTURE(m);
                    CHECK(datatype_bits(k, fmt(n, sx), fmt(m, true)) ==
                          datatype_float(k, n, m, sx));
                }
    for (long long l1 : {1LL, 2LL, 3LL, 5LL, 127LL, 128LL, 1000LL, 99999LL, 1LL << 20})
        for (int n = 1; n <= 16; ++n)
            for (bool sx : {false, true}) {
                CAPTURE(l1);
                CAPTURE(n);
                CHECK(a2q_bits(static_cast<u128>(l1), fmt(n, sx)) ==
                      a2q_float(static_cast<double>(l1), n, sx));
                CHECK(a2q_plus_bits(static_cast<u128>(l1), fmt(n, sx)) ==
                      a2q_plus_float(static_cast<double>(l1), n));
            }
}

TEST_CASE("unsigned weights: the data-type bound stays safe (largest product (2^N-1)(2^M-1))") {
    // K = 100, 8-bit unsigned x 8-bit unsigned: the largest sum 100 * 255 * 255 = 6502500 needs
    // 24 bits. The signed-weight formula (a = log2 K + N + M - 1) would say 23: unsafe.
    CHECK(signed_bits(i128{100} * 255 * 255) == 24);
    CHECK(datatype_bits(100, fmt(8, false), fmt(8, false)) == 24);
    CHECK(datatype_float(100, 8, 8, false) == 23);
}

TEST_CASE(
    "observed <= exact <= a2q <= datatype on random layers, and a2q+ is flagged when below exact") {
    std::mt19937_64 rng(11);
    int plus_below = 0;
    for (int trial = 0; trial < 300; ++trial) {
        const OperandFormat x = fmt(1 + static_cast<int>(rng() % 16), rng() % 2);
        const OperandFormat q = fmt(2 + static_cast<int>(rng() % 15), true);
        const int64_t k = 1 + static_cast<int64_t>(rng() % 300);
        const int channels = 1 + static_cast<int>(rng() % 6);
        StaticBounds sb(x, q, k, one_stage(64));
        ReferenceReducer ref(one_stage(64));
        ValueRange observed;
        const bool skewed = trial % 3 == 0;  // all-positive weights: not zero-centred
        for (int c = 0; c < channels; ++c) {
            std::vector<int32_t> w(k);
            for (auto& v : w) {
                v = static_cast<int32_t>(q.min() +
                                         static_cast<int64_t>(rng() % (q.max() - q.min() + 1)));
                if (skewed) v = v < 0 ? -v - 1 : v;
            }
            sb.add_channel(w.data());
            for (int s = 0; s < 3; ++s) {
                std::vector<int64_t> p(k);
                for (int64_t i = 0; i < k; ++i)
                    p[i] = int64_t{w[i]} *
                           (x.min() + static_cast<int64_t>(rng() % (x.max() - x.min() + 1)));
                DotOutcome o;
                ref.reduce(p.data(), p.size(), std::nullopt, o);
                observed.merge(o.observed_by_stage[0]);
            }
        }
        CAPTURE(trial);
        CHECK(observed.bits() <= sb.exact_bits());
        CHECK(sb.exact_bits() <= sb.a2q_bits());
        CHECK(sb.a2q_bits() <= sb.datatype_bits());
        CHECK(sb.datatype_bits() == datatype_bits(k, x, q));
        if (sb.a2q_plus_bits() < sb.exact_bits()) {
            ++plus_below;
            CHECK(sb.channels_a2q_plus_unsound() > 0);
        }
    }
    CHECK(plus_below > 0);  // skewed channels do break A2Q+'s zero-centred assumption
}

TEST_CASE("the exact bound is reached by the adversarial input, per stage too") {
    std::mt19937_64 rng(3);
    for (int trial = 0; trial < 200; ++trial) {
        const OperandFormat x = fmt(2 + static_cast<int>(rng() % 8), rng() % 2);
        const OperandFormat q = fmt(2 + static_cast<int>(rng() % 8), true);
        const int64_t k = 1 + static_cast<int64_t>(rng() % 200);
        std::vector<int32_t> w(k);
        for (auto& v : w)
            v = static_cast<int32_t>(q.min() +
                                     static_cast<int64_t>(rng() % (q.max() - q.min() + 1)));

        AccumulatorSpec acc;
        const int64_t tile = 1 + static_cast<int64_t>(rng() % 40);
        acc.stages.push_back(StageSpec{64, OverflowMode::wrap, tile, Reduction::sequential});
        acc.stages.push_back(
            StageSpec{64, OverflowMode::wrap, std::nullopt, Reduction::sequential});
        StaticBounds sb(x, q, k, acc);
        sb.add_channel(w.data());
        ReferenceReducer ref(acc);

        // x_max where q > 0 and x_min where q < 0 drives every prefix up to S+; the mirror
        // image drives it down to S-. Together they need exactly the exact width.
        std::vector<int64_t> up(k), down(k);
        for (int64_t i = 0; i < k; ++i) {
            up[i] = int64_t{w[i]} * (w[i] > 0 ? x.max() : x.min());
            down[i] = int64_t{w[i]} * (w[i] > 0 ? x.min() : x.max());
        }
        DotOutcome a, b;
        ref.reduce(up.data(), up.size(), std::nullopt, a);
        ref.reduce(down.data(), down.size(), std::nullopt, b);
        const ExactRange r = exact_range(w.data(), k, x);
        CHECK(a.exact == r.hi);
        CHECK(b.exact == r.lo);
        for (std::size_t j = 0; j < 2; ++j) {
            ValueRange both = a.observed_by_stage[j];
            both.merge(b.observed_by_stage[j]);
            CHECK(both.bits() == sb.stages()[j].exact_bits);
        }
        CHECK(sb.exact_bits() == signed_bits(r.lo, r.hi));
    }
}

TEST_CASE(
    "tiles at risk: a 2-stage layout flags exactly the (channel, tile) pairs whose range exceeds "
    "the stage") {
    // x unsigned 4-bit [0, 15]; one channel of 8 weights, tiles of 4.
    // tile 0: 7,7,7,7 -> [0, 420] needs 10 bits; tile 1: 1,-1,1,-1 -> [-30, 30] needs 6 bits.
    const std::vector<int32_t> w = {7, 7, 7, 7, 1, -1, 1, -1};
    AccumulatorSpec acc;
    acc.stages.push_back(StageSpec{9, OverflowMode::wrap, 4, Reduction::sequential});
    acc.stages.push_back(StageSpec{12, OverflowMode::wrap, std::nullopt, Reduction::sequential});
    StaticBounds sb(fmt(4, false), fmt(8, true), 8, acc);
    sb.add_channel(w.data());
    CHECK(sb.stages()[0].exact_bits == 10);
    CHECK(sb.stages()[0].tiles == 2);
    CHECK(sb.stages()[0].tiles_at_risk == 1);
    // whole dot product: [-30, 450] -> 10 bits, fits the 12-bit outer register
    CHECK(sb.stages()[1].exact_bits == 10);
    CHECK(sb.stages()[1].tiles_at_risk == 0);
    CHECK(sb.channels_at_risk() == 1);
}

TEST_CASE("the bias counts toward the risk of the last stage, not toward the reported bounds") {
    // One weight of 1 on 8-bit unsigned inputs: products in [0, 255]. With a bias of 2000 the
    // last register must hold up to 2255 (13 bits); a 12-bit register is at risk even though
    // the dot product alone needs only 9 bits.
    const std::vector<int32_t> w = {1};
    for (BiasMode mode : {BiasMode::last, BiasMode::first}) {
        AccumulatorSpec acc = one_stage(12);
        acc.bias = mode;
        StaticBounds sb(fmt(8, false), fmt(8, true), 1, acc);
        sb.add_channel(w.data(), 2000);
        CHECK(sb.exact_bits() == 9);
        CHECK(sb.exact_bits_with_bias() == 13);
        CHECK(sb.stages()[0].tiles_at_risk == 1);
        CHECK(sb.channels_at_risk() == 1);
    }
    AccumulatorSpec none = one_stage(12);
    none.bias = BiasMode::none;
    StaticBounds sb(fmt(8, false), fmt(8, true), 1, none);
    sb.add_channel(w.data(), 2000);
    CHECK(sb.exact_bits_with_bias() == 9);
    CHECK(sb.channels_at_risk() == 0);
    // A negative bias widens the range downwards: [-3000, 255 - 3000] needs 13 bits.
    StaticBounds neg(fmt(8, false), fmt(8, true), 1, one_stage(13));
    neg.add_channel(w.data(), -3000);
    CHECK(neg.exact_bits_with_bias() == 13);
    CHECK(neg.channels_at_risk() == 0);
}

TEST_CASE("with a bias, the exact-with-bias width is reached: bias last, extreme input") {
    // Replaying the adversarial input plus the bias reaches exactly exact_bits_with_bias.
    std::mt19937_64 rng(5);
    for (int trial = 0; trial < 100; ++trial) {
        const OperandFormat x = fmt(2 + static_cast<int>(rng() % 7), rng() % 2);
        const OperandFormat q = fmt(2 + static_cast<int>(rng() % 7), true);
        const int64_t k = 1 + static_cast<int64_t>(rng() % 50);
        std::vector<int32_t> w(k);
        for (auto& v : w)
            v = static_cast<int32_t>(q.min() +
                                     static_cast<int64_t>(rng() % (q.max() - q.min() + 1)));
        const int64_t bias = static_cast<int64_t>(rng() % 20001) - 10000;
        StaticBounds sb(x, q, k, one_stage(64));
        sb.add_channel(w.data(), bias);
        ReferenceReducer ref(one_stage(64));
        std::vector<int64_t> up(k), down(k);
        for (int64_t i = 0; i < k; ++i) {
            up[i] = int64_t{w[i]} * (w[i] > 0 ? x.max() : x.min());
            down[i] = int64_t{w[i]} * (w[i] > 0 ? x.min() : x.max());
        }
        DotOutcome a, b;
        ref.reduce(up.data(), up.size(), bias, a);
        ref.reduce(down.data(), down.size(), bias, b);
        ValueRange seen = a.observed_by_stage[0];
        seen.merge(b.observed_by_stage[0]);
        seen.include(a.exact);
        seen.include(b.exact);
        CHECK(seen.bits() == sb.exact_bits_with_bias());
    }
}

TEST_CASE("static bounds merged from parts equal the bounds of all channels added at once") {
    std::mt19937 rng(11);
    std::uniform_int_distribution<int32_t> w(-127, 127);
    std::uniform_int_distribution<int64_t> b(-(int64_t{1} << 20), int64_t{1} << 20);
    AccumulatorSpec acc;
    StageSpec s1, s2;
    s1.bits = 18;
    s1.length = 32;
    s2.bits = 24;
    acc.stages = {s1, s2};
    const OperandFormat x{8, false}, q{8, true};
    const int64_t k = 300, channels = 50;
    std::vector<int32_t> weights(static_cast<std::size_t>(k * channels));
    // Odd channels have small weights: they fit, the others do not.
    for (std::size_t i = 0; i < weights.size(); ++i)
        weights[i] = (i / static_cast<std::size_t>(k)) % 2 ? w(rng) / 9 : w(rng);
    std::vector<int64_t> bias(channels);
    for (auto& v : bias) v = b(rng);
    StaticBounds whole(x, q, k, acc), merged(x, q, k, acc);
    for (int64_t c = 0; c < channels; ++c) whole.add_channel(weights.data() + c * k, bias[c]);
    for (int64_t p0 : {0, 7, 31}) {
        const int64_t p1 = p0 == 0 ? 7 : p0 == 7 ? 31 : channels;
        StaticBounds part(x, q, k, acc);
        for (int64_t c = p0; c < p1; ++c) part.add_channel(weights.data() + c * k, bias[c]);
        merged.merge(part);
    }
    CHECK(merged.channels() == whole.channels());
    CHECK(merged.channels_at_risk() == whole.channels_at_risk());
    CHECK(merged.channels_a2q_plus_unsound() == whole.channels_a2q_plus_unsound());
    CHECK(merged.a2q_bits() == whole.a2q_bits());
    CHECK(merged.a2q_plus_bits() == whole.a2q_plus_bits());
    CHECK(merged.exact_bits() == whole.exact_bits());
    CHECK(merged.exact_bits_with_bias() == whole.exact_bits_with_bias());
    for (std::size_t j = 0; j < 2; ++j) {
        CHECK(merged.stages()[j].exact_bits == whole.stages()[j].exact_bits);
        CHECK(merged.stages()[j].tiles == whole.stages()[j].tiles);
        CHECK(merged.stages()[j].tiles_at_risk == whole.stages()[j].tiles_at_risk);
    }
    CHECK(whole.channels_at_risk() > 0);  // the large-weight channels
    CHECK(whole.channels_at_risk() < static_cast<uint64_t>(channels));
}

TEST_CASE("static bounds re-evaluated at other widths equal the bounds built at those widths") {
    std::mt19937 rng(5);
    std::uniform_int_distribution<int32_t> w(-127, 127);
    std::uniform_int_distribution<int64_t> b(-(int64_t{1} << 22), int64_t{1} << 22);
    const OperandFormat x{8, true}, q{8, true};
    const int64_t k = 200, channels = 40;
    std::vector<int32_t> weights(static_cast<std::size_t>(k * channels));
    for (std::size_t i = 0; i < weights.size(); ++i)
        weights[i] = (i / static_cast<std::size_t>(k)) % 3 ? w(rng) / 7 : w(rng);
    std::vector<int64_t> bias(channels);
    for (auto& v : bias) v = b(rng);
    for (BiasMode mode : {BiasMode::last, BiasMode::first, BiasMode::none}) {
        auto spec = [&](int b1, int b2, OverflowMode o) {
            AccumulatorSpec acc;
            StageSpec s1, s2;
            s1.bits = b1;
            s1.length = 64;
            s1.overflow = o;
            s2.bits = b2;
            acc.stages = {s1, s2};
            acc.bias = mode;
            return acc;
        };
        auto build = [&](const AccumulatorSpec& acc) {
            StaticBounds s(x, q, k, acc);
            for (int64_t c = 0; c < channels; ++c) s.add_channel(weights.data() + c * k, bias[c]);
            return s;
        };
        const StaticBounds base = build(spec(14, 20, OverflowMode::wrap));
        uint64_t seen_risk = 0;
        for (int b1 : {12, 16, 19, 32})
            for (int b2 : {16, 22, 24, 40}) {
                const AccumulatorSpec acc = spec(b1, b2, OverflowMode::saturate);
                const StaticBounds fresh = build(acc), moved = base.with_widths(acc);
                CAPTURE(b1);
                CAPTURE(b2);
                CHECK(moved.channels_at_risk() == fresh.channels_at_risk());
                CHECK(moved.exact_bits_with_bias() == fresh.exact_bits_with_bias());
                for (std::size_t j = 0; j < 2; ++j) {
                    CHECK(moved.stages()[j].tiles_at_risk == fresh.stages()[j].tiles_at_risk);
                    CHECK(moved.stages()[j].exact_bits == fresh.stages()[j].exact_bits);
                }
                seen_risk += fresh.channels_at_risk() > 0 &&
                             fresh.channels_at_risk() < static_cast<uint64_t>(channels);
            }
        CHECK(seen_risk > 0);  // some widths put some channels at risk, not all
        AccumulatorSpec other = spec(14, 20, OverflowMode::wrap);
        other.stages[0].length = 32;
        CHECK_THROWS_AS(base.with_widths(other), std::logic_error);
    }
}

TEST_CASE("a declared range (bipolar, narrow) narrows the exact bound and leaves the others") {
    // Bipolar inputs in a 2-bit signed declaration: x in [-1, 1] instead of [-2, 1].
    const std::vector<int32_t> w = {1, -1, 1, 1, -1};
    OperandFormat bits_only = fmt(2, true);
    OperandFormat bipolar = bits_only;
    bipolar.has_range = true;
    bipolar.range_lo = -1;
    bipolar.range_hi = 1;
    CHECK(bipolar.min() == -1);
    CHECK(bipolar.max() == 1);
    CHECK(bipolar.type_min() == -2);
    CHECK(bipolar.describe() == "2-bit signed, range [-1, 1]");
    const ExactRange wide = exact_range(w.data(), 5, bits_only);
    const ExactRange tight = exact_range(w.data(), 5, bipolar);
    CHECK(wide.lo == -8);   // 1*-2 + -1*1 + 1*-2 + 1*-2 + -1*1
    CHECK(wide.hi == 7);    // 1*1 + -1*-2 + 1*1 + 1*1 + -1*-2
    CHECK(tight.lo == -5);  // every product is +-1
    CHECK(tight.hi == 5);
    // Brute force over every bipolar input: the extremes are reached.
    int64_t lo = 0, hi = 0;
    for (int m = 0; m < 32; ++m) {
        int64_t s = 0;
        for (int i = 0; i < 5; ++i) s += w[static_cast<std::size_t>(i)] * ((m >> i) & 1 ? 1 : -1);
        lo = std::min(lo, s);
        hi = std::max(hi, s);
    }
    CHECK(lo == tight.lo);
    CHECK(hi == tight.hi);
    // The data-type bound is the bits' (A2Q's formula), with or without the range.
    CHECK(datatype_bits(5, bipolar, fmt(2, true)) == datatype_bits(5, bits_only, fmt(2, true)));
}
