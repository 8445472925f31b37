#include <doctest/doctest.h>

#include <random>
#include <systemc>
#include <vector>

#include "datapath/reference_reducer.h"
#include "models/accumulator_unit.h"

using namespace accsim;

namespace {

// Drives dot products into an AccumulatorUnit one product per clock and collects its results.
struct Bench {
    sc_core::sc_clock clk{"clk", 1, sc_core::SC_NS};
    sc_core::sc_signal<bool> in_valid{"in_valid"}, in_last{"in_last"}, out_valid{"out_valid"},
        ovf{"ovf"};
    sc_core::sc_signal<sc_dt::int64> in_data{"in_data"}, out_data{"out_data"};
    AccumulatorUnit unit;

    explicit Bench(const StageSpec& s) : unit("acc", s) {
        unit.clk(clk);
        unit.in_valid(in_valid);
        unit.in_last(in_last);
        unit.in_data(in_data);
        unit.out_valid(out_valid);
        unit.out_data(out_data);
        unit.overflow(ovf);
    }

    // Returns the unit's result for each dot product and counts cycles with the overflow flag.
    std::vector<int64_t> run(const std::vector<std::vector<int64_t>>& dots, uint64_t& flagged) {
        std::vector<int64_t> results;
        flagged = 0;
        auto sample = [&] {
            if (out_valid.read()) results.push_back(out_data.read());
            flagged += ovf.read();
        };
        for (const auto& dot : dots) {
            for (std::size_t i = 0; i < dot.size(); ++i) {
                in_valid.write(true);
                in_data.write(dot[i]);
                in_last.write(i + 1 == dot.size());
                sc_core::sc_start(1, sc_core::SC_NS);
                sample();
            }
        }
        in_valid.write(false);
        sc_core::sc_start(2, sc_core::SC_NS);
        sample();
        return results;
    }
};

}  // namespace

TEST_CASE("the SystemC accumulator unit equals the reference reducer, one product per cycle") {
    StageSpec s;
    s.bits = 10;
    s.overflow = OverflowMode::wrap;
    Bench bench(s);
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<int64_t> prod(-300, 300);
    std::vector<std::vector<int64_t>> dots;
    for (int d = 0; d < 40; ++d) {
        std::vector<int64_t> dot(1 + d % 9);
        for (auto& p : dot) p = prod(rng);
        dots.push_back(dot);
    }
    uint64_t flagged = 0;
    const std::vector<int64_t> got = bench.run(dots, flagged);
    REQUIRE(got.size() == dots.size());

    AccumulatorSpec acc;
    acc.stages = {s};
    ReferenceReducer ref(acc);
    DotOutcome o;
    uint64_t events = 0;
    for (std::size_t d = 0; d < dots.size(); ++d) {
        ref.reduce(dots[d].data(), dots[d].size(), std::nullopt, o);
        CHECK(got[d] == o.final_value);
        events += o.events();
    }
    CHECK(events > 0);  // the case exercises overflow at all
    CHECK(bench.unit.events() == events);
    CHECK(flagged == events);
}

TEST_CASE("a saturating SystemC accumulator unit clamps and flags like the reference") {
    StageSpec s;
    s.bits = 8;
    s.overflow = OverflowMode::saturate;
    Bench bench(s);
    const std::vector<std::vector<int64_t>> dots = {
        {100, 27, 1, -5}, {-128, -1, 3}, {127, 0}, {-100, -100, 250}};
    uint64_t flagged = 0;
    const std::vector<int64_t> got = bench.run(dots, flagged);
    // 100+27=127, +1 -> 128 clamps to 127 (event), -5 -> 122; -128-1 clamps to -128 (event), +3 ->
    // -125; 127+0 = 127; -100-100 clamps to -128 (event), +250 -> 122.
    CHECK(got == std::vector<int64_t>{122, -125, 127, 122});
    CHECK(flagged == 3);
    CHECK(bench.unit.events() == 3);
}
