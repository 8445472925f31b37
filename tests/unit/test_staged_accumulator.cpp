// The incremental StagedAccumulator (what the SystemC models use) against the reference
// reducer: fed products from stage 1, or fed stage-1 tile results computed by the caller.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "datapath/reference_reducer.h"
#include "datapath/staged_accumulator.h"

using namespace accsim;

namespace {

AccumulatorSpec random_spec(std::mt19937_64& rng) {
    AccumulatorSpec a;
    const int n = 1 + static_cast<int>(rng() % 3);
    for (int j = 0; j < n; ++j) {
        StageSpec s;
        s.bits = 2 + static_cast<int>(rng() % 10);
        s.overflow = rng() % 2 ? OverflowMode::wrap : OverflowMode::saturate;
        s.reduction = rng() % 2 ? Reduction::tree : Reduction::sequential;
        if (j + 1 < n) s.length = 1 + static_cast<int64_t>(rng() % 5);
        a.stages.push_back(s);
    }
    a.bias = static_cast<BiasMode>(rng() % 3);
    return a;
}

void same(const DotOutcome& a, const DotOutcome& b, std::size_t from) {
    CHECK(a.final_value == b.final_value);
    CHECK(a.exact == b.exact);
    CHECK(a.exact_dot == b.exact_dot);
    for (std::size_t j = from; j < a.events_by_stage.size(); ++j) {
        CAPTURE(j);
        CHECK(a.events_by_stage[j] == b.events_by_stage[j]);
        CHECK(a.observed_by_stage[j].lo == b.observed_by_stage[j].lo);
        CHECK(a.observed_by_stage[j].hi == b.observed_by_stage[j].hi);
    }
}

}  // namespace

TEST_CASE(
    "fed products one by one, the staged accumulator equals the reference on random layouts") {
    std::mt19937_64 rng(99);
    for (int trial = 0; trial < 3000; ++trial) {
        const AccumulatorSpec spec = random_spec(rng);
        const int64_t k = 1 + static_cast<int64_t>(rng() % 23);
        std::vector<int64_t> p(k);
        for (auto& v : p) v = static_cast<int64_t>(rng() % 61) - 30;
        const std::optional<int64_t> bias =
            rng() % 4 ? std::optional<int64_t>(static_cast<int64_t>(rng() % 41) - 20)
                      : std::nullopt;
        ReferenceReducer ref(spec);
        DotOutcome want, got;
        ref.reduce(p.data(), p.size(), bias, want);
        StagedAccumulator acc(spec, 0, k);
        CHECK(acc.inputs_expected() == k);
        acc.begin(bias);
        for (int64_t v : p) acc.push(v, v);
        acc.finish(got);
        CAPTURE(spec.describe());
        CAPTURE(trial);
        same(want, got, 0);
    }
}

TEST_CASE(
    "fed stage-1 tile results (as a PE column delivers them), later stages equal the reference") {
    std::mt19937_64 rng(7);
    int checked = 0;
    for (int trial = 0; trial < 3000; ++trial) {
        AccumulatorSpec spec = random_spec(rng);
        if (spec.stages.size() < 2) continue;
        const int64_t k = 1 + static_cast<int64_t>(rng() % 23);
        std::vector<int64_t> p(k);
        for (auto& v : p) v = static_cast<int64_t>(rng() % 61) - 30;
        ReferenceReducer ref(spec);
        DotOutcome want, got;
        ref.reduce(p.data(), p.size(), std::nullopt, want);
        // Stage 1 computed tile by tile by a one-stage reference, as the array would.
        AccumulatorSpec first;
        first.stages = {spec.stages[0]};
        first.stages[0].length.reset();
        first.bias = BiasMode::none;
        ReferenceReducer tile_ref(first);
        StagedAccumulator acc(spec, 1, k);
        acc.begin(std::nullopt);
        const int64_t len = *spec.stages[0].length;
        for (int64_t t = 0; t < k; t += len) {
            const int64_t n = std::min(len, k - t);
            DotOutcome tile;
            tile_ref.reduce(p.data() + t, static_cast<std::size_t>(n), std::nullopt, tile);
            acc.push(tile.final_value, tile.exact_dot);
        }
        acc.finish(got);
        CAPTURE(spec.describe());
        same(want, got, 1);
        ++checked;
    }
    CHECK(checked > 1000);
}
