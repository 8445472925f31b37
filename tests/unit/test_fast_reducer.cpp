// The fast replay against the scalar reference, output by output: final values, exact results,
// events per stage and the observed partial-sum ranges, on thousands of random layers with a
// fixed seed: wrap and saturate, 1-3 stages, sequential and tree, widths 2..64, signed and
// unsigned operands of 1..16 bits, operands at their extremes, K not a multiple of any chunk.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "datapath/fast_reducer.h"
#include "datapath/reference_reducer.h"

using namespace accsim;

namespace {

struct Format {
    int bits;
    bool is_signed;
    int64_t lo() const { return is_signed ? -(int64_t{1} << (bits - 1)) : 0; }
    int64_t hi() const {
        return is_signed ? (int64_t{1} << (bits - 1)) - 1 : (int64_t{1} << bits) - 1;
    }
};

// Values of a format: uniform, or pinned to the extremes (the worst case for every register).
std::vector<int32_t> values(std::mt19937_64& rng, std::size_t n, Format f, int mode) {
    std::vector<int32_t> v(n);
    std::uniform_int_distribution<int64_t> any(f.lo(), f.hi());
    std::uniform_int_distribution<int> coin(0, 3);
    for (auto& e : v) {
        switch (mode) {
            case 0:
                e = static_cast<int32_t>(any(rng));
                break;
            case 1:
                e = static_cast<int32_t>(coin(rng) < 2 ? f.lo() : f.hi());
                break;
            default:
                e = static_cast<int32_t>(coin(rng) == 0 ? 0 : any(rng));
                break;  // sparse
        }
    }
    return v;
}

AccumulatorSpec random_spec(std::mt19937_64& rng, int64_t k, int natural_bits) {
    std::uniform_int_distribution<int> stages_d(1, 3), coin(0, 1);
    AccumulatorSpec acc;
    const int n = stages_d(rng);
    // Widths around what the products need, so that some overflow and some do not; sometimes
    // anything in 2..64.
    std::uniform_int_distribution<int> near(std::max(2, natural_bits - 6),
                                            std::min(64, natural_bits + 8));
    std::uniform_int_distribution<int> any(2, 64);
    for (int j = 0; j < n; ++j) {
        StageSpec s;
        s.bits = coin(rng) ? near(rng) : any(rng);
        s.overflow = coin(rng) ? OverflowMode::wrap : OverflowMode::saturate;
        s.reduction = coin(rng) ? Reduction::sequential : Reduction::tree;
        if (j + 1 < n) {
            std::uniform_int_distribution<int64_t> len(1, std::max<int64_t>(1, k / 2 + 2));
            s.length =
                coin(rng) ? len(rng) : std::vector<int64_t>{1, 3, 16, 32, 64, 65, 128}[rng() % 7];
        }
        acc.stages.push_back(s);
    }
    acc.bias = std::vector<BiasMode>{BiasMode::last, BiasMode::first, BiasMode::none}[rng() % 3];
    return acc;
}

}  // namespace

TEST_CASE("the fast replay equals the reference on 3000 random layers, output by output") {
    std::mt19937_64 rng(20261125);
    const std::vector<int64_t> ks = {1, 2, 3, 7, 9, 27, 63, 64, 65, 127, 129, 200, 513};
    int layers = 0, trusted_layers = 0, outputs_with_events = 0, outputs_clean = 0;
    for (int trial = 0; trial < 3000; ++trial) {
        const int64_t k = ks[rng() % ks.size()];
        std::uniform_int_distribution<int> bits_d(1, 16), coin(0, 1);
        Format xf{bits_d(rng), coin(rng) == 1}, qf{bits_d(rng), coin(rng) == 1};
        if (xf.bits == 1) xf.is_signed = false;  // a 1-bit signed format holds only -1 and 0
        const int natural = xf.bits + qf.bits + 1;
        const AccumulatorSpec acc = random_spec(rng, k, natural);
        const int64_t rows = 1 + static_cast<int64_t>(rng() % 5),
                      cols = 1 + static_cast<int64_t>(rng() % 19);
        const int mode = static_cast<int>(rng() % 3);
        const std::vector<int32_t> x = values(rng, static_cast<std::size_t>(rows * k), xf, mode);
        const std::vector<int32_t> q = values(rng, static_cast<std::size_t>(cols * k), qf, mode);
        std::vector<int64_t> bias(static_cast<std::size_t>(cols));
        std::uniform_int_distribution<int64_t> bias_d(-(int64_t{1} << 31), (int64_t{1} << 31) - 1);
        for (auto& b : bias) b = coin(rng) ? bias_d(rng) : static_cast<int64_t>(rng() % 200) - 100;
        const bool with_bias = coin(rng) == 1;

        FastReducer fast(acc, k);
        OutputBlock block;
        fast.run(x.data(), rows, q.data(), cols, with_bias ? bias.data() : nullptr, block);
        uint64_t stage1_events = 0;

        ReferenceReducer ref(acc);
        DotOutcome d;
        std::vector<ValueRange> observed(acc.stages.size());
        std::vector<int64_t> p(static_cast<std::size_t>(k));
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c) {
                for (int64_t i = 0; i < k; ++i) p[i] = int64_t{x[r * k + i]} * q[c * k + i];
                ref.reduce(p.data(), static_cast<std::size_t>(k),
                           with_bias ? std::optional<int64_t>(bias[c]) : std::nullopt, d);
                const std::size_t o = static_cast<std::size_t>(r * cols + c);
                CAPTURE(trial);
                CAPTURE(acc.describe());
                CAPTURE(k);
                REQUIRE(block.final_value[o] == d.final_value);
                REQUIRE(i128{block.exact_dot[o]} == d.exact_dot);
                for (std::size_t j = 0; j < acc.stages.size(); ++j) {
                    REQUIRE(block.events[o * acc.stages.size() + j] == d.events_by_stage[j]);
                    observed[j].merge(d.observed_by_stage[j]);
                }
                stage1_events += d.events_by_stage[0];
                (d.events() ? outputs_with_events : outputs_clean)++;
            }
        // Stage 1's observed range is exact in width (what reports show); later stages' exactly.
        auto same_observed = [&](const OutputBlock& b) {
            for (std::size_t j = 0; j < acc.stages.size(); ++j) {
                CAPTURE(trial);
                CAPTURE(j);
                REQUIRE(b.observed[j].empty == observed[j].empty);
                REQUIRE(b.observed[j].bits() == observed[j].bits());
                if (j > 0) {
                    REQUIRE(b.observed[j].lo == observed[j].lo);
                    REQUIRE(b.observed[j].hi == observed[j].hi);
                }
            }
        };
        same_observed(block);
        if (stage1_events == 0) {
            // Without an event in stage 1 the caller may declare it safe: the register screen is
            // skipped, and nothing a report says changes.
            FastReducer trusted(acc, k);
            trusted.set_stage1_safe(true);
            OutputBlock b2;
            trusted.run(x.data(), rows, q.data(), cols, with_bias ? bias.data() : nullptr, b2);
            CHECK(trusted.counters.replayed == 0);
            REQUIRE(b2.final_value == block.final_value);
            REQUIRE(b2.events == block.events);
            REQUIRE(b2.exact_dot == block.exact_dot);
            same_observed(b2);
            ++trusted_layers;
        }
        ++layers;
    }
    CHECK(layers == 3000);
    CHECK(trusted_layers > 500);
    // Both paths were exercised: outputs with events (replayed chunks) and clean ones.
    CHECK(outputs_with_events > 1000);
    CHECK(outputs_clean > 1000);
}

TEST_CASE("a layer that cannot overflow is screened whole: no chunk is replayed") {
    AccumulatorSpec acc;
    StageSpec s1;
    s1.bits = 32;
    acc.stages = {s1};
    const int64_t k = 300;
    std::vector<int32_t> x(4 * k, 255), q(8 * k, -128);
    FastReducer fast(acc, k);
    OutputBlock block;
    fast.run(x.data(), 4, q.data(), 8, nullptr, block);
    CHECK(fast.counters.replayed == 0);
    CHECK(fast.counters.chunks == 4 * 8 * 5);  // 300 = 4 chunks of 64 and one of 44
    CHECK(block.final_value[0] == 300 * 255 * -128);
    // The partial sums fall monotonically: the first output's first 4 chunks each widen the
    // width (22, 23, 24, 25 bits: down to -8,355,840); its 5th (down to -9,792,000) and every
    // other output's chunks stay within 25 bits and are not scanned.
    CHECK(fast.counters.scanned == 4);
    CHECK(block.observed[0].lo == 300 * 255 * -128);
    CHECK(block.observed[0].hi == 255 * -128);
}

TEST_CASE("at the boundary: 2^(B-1) - 1 takes no event, 2^(B-1) takes one") {
    AccumulatorSpec acc;
    StageSpec s1;
    s1.bits = 16;
    acc.stages = {s1};
    // 32767 = 127 x 258 + 1: products 127 x 1 (258 of them) then 1 x 1.
    std::vector<int32_t> x(259, 1), q(259, 127);
    q[258] = 1;
    FastReducer fast(acc, 259);
    OutputBlock block;
    fast.run(x.data(), 1, q.data(), 1, nullptr, block);
    CHECK(block.final_value[0] == 32767);
    CHECK(block.events[0] == 0);
    q[258] = 2;  // 32768 wraps to -32768: one event
    fast.run(x.data(), 1, q.data(), 1, nullptr, block);
    CHECK(block.final_value[0] == -32768);
    CHECK(block.events[0] == 1);
}
