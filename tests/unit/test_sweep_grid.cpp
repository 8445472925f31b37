// Sweep grids: lists, ranges, stepped ranges and accumulator layouts parse into values, expand
// into their cartesian product in a fixed order, and malformed grids are refused by name.
#include <doctest/doctest.h>

#include <functional>
#include <set>

#include "datapath/input_error.h"
#include "sweep/sweep_grid.h"
#include "sweep/sweep_output.h"

#include <random>

using namespace accsim;

namespace {

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const InputError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("grid values: lists, ranges, stepped ranges and their mixes") {
    CHECK(parse_grid("accumulator.stages.0.bits=12,14,16").values ==
          std::vector<std::string>{"12", "14", "16"});
    CHECK(parse_grid("a.b=12..15").values == std::vector<std::string>{"12", "13", "14", "15"});
    CHECK(parse_grid("a.b=12..20:4").values == std::vector<std::string>{"12", "16", "20"});
    CHECK(parse_grid("a.b=12..19:4").values == std::vector<std::string>{"12", "16"});
    CHECK(parse_grid("a.b=8, 12..13 ,ws").values ==
          std::vector<std::string>{"8", "12", "13", "ws"});
    CHECK(parse_grid("a.b=-2..1").values == std::vector<std::string>{"-2", "-1", "0", "1"});
    CHECK(parse_grid("a.b=7..7").values == std::vector<std::string>{"7"});
    CHECK(parse_grid(" array.rows = 16 ").path == "array.rows");
}

TEST_CASE("bad grids are refused with the grid and what is wrong") {
    CHECK(error_of([] { parse_grid("a.b"); }) ==
          "command line: --grid: \"a.b\": expected PATH=VALUES; VALUES is a list (12,14,16), a "
          "range (12..20) or a stepped range (12..32:2)");
    CHECK(error_of([] { parse_grid("a.b=20..12"); }) ==
          "command line: --grid: \"a.b=20..12\": range \"20..12\" runs backwards (20 > 12)");
    CHECK(error_of([] { parse_grid("a.b=1..5:-1"); }).find("needs a whole step of at least 1") !=
          std::string::npos);
    CHECK(error_of([] { parse_grid("a.b=1.5..3"); }).find("needs whole numbers at both ends") !=
          std::string::npos);
    CHECK(error_of([] { parse_grid("a.b=1,"); }).find("an empty value") != std::string::npos);
    CHECK(error_of([] { parse_grid("a.b=1,1..2"); }).find("value 1 is listed twice") !=
          std::string::npos);
    CHECK(error_of([] { parse_grid("a.b=12,012"); }).find("value 12 is listed twice") !=
          std::string::npos);
    CHECK(error_of([] { parse_grid("a b=1"); }).find("may hold only letters") != std::string::npos);
    CHECK(error_of([] { parse_grid("a.b=0..1000000"); }).find("more than 100000 values") !=
          std::string::npos);
    CHECK(error_of([] { parse_acc_grid("16;"); }).find("an empty layout") != std::string::npos);
    CHECK(error_of([] { parse_acc_grid("16;16"); }).find("layout 16 is listed twice") !=
          std::string::npos);
}

TEST_CASE("the cartesian product: layouts slowest, then the axes in order, the last fastest") {
    const std::vector<GridAxis> axes = {parse_grid("x=1,2"), parse_grid("y=a,b,c")};
    const std::vector<SweepPoint> p = expand_grid(axes, parse_acc_grid("16;128x16,32"));
    REQUIRE(p.size() == 12);
    CHECK(p[0].label() == "acc=16, x=1, y=a");
    CHECK(p[1].label() == "acc=16, x=1, y=b");
    CHECK(p[3].label() == "acc=16, x=2, y=a");
    CHECK(p[6].label() == "acc=128x16,32, x=1, y=a");
    CHECK(p[11].label() == "acc=128x16,32, x=2, y=c");
    // Every combination exactly once.
    std::set<std::string> labels;
    for (const SweepPoint& s : p) labels.insert(s.label());
    CHECK(labels.size() == 12);
    // Without layouts, and without axes.
    CHECK(expand_grid(axes, {}).size() == 6);
    CHECK(expand_grid({}, parse_acc_grid("16;20;24")).size() == 3);
    CHECK(error_of([&] {
              expand_grid({parse_grid("x=1"), parse_grid("x=2")}, {});
          }).find("\"x\" is swept twice") != std::string::npos);
    CHECK(error_of([&] { expand_grid(axes, {}, 5); }).find("more than 5 points") !=
          std::string::npos);
}

TEST_CASE("Pareto fronts: ties, duplicates, and 2000 random points against the definition") {
    // (cost, y): (1,5) (2,3) (2,3) (2,4) (3,3) (4,0) (4,0) (5,0)
    const std::vector<double> c = {1, 2, 2, 2, 3, 4, 4, 5}, y = {5, 3, 3, 4, 3, 0, 0, 0};
    CHECK(pareto_front(c, y) ==
          std::vector<bool>{true, true, true, false, false, true, true, false});
    CHECK(pareto_front({}, {}).empty());
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> d(0, 40);
    std::vector<double> rc(2000), ry(2000);
    for (std::size_t i = 0; i < rc.size(); ++i) rc[i] = d(rng), ry[i] = d(rng);
    const std::vector<bool> front = pareto_front(rc, ry);
    for (std::size_t i = 0; i < rc.size(); ++i) {
        bool dominated = false;
        for (std::size_t j = 0; j < rc.size() && !dominated; ++j)
            dominated = rc[j] <= rc[i] && ry[j] <= ry[i] && (rc[j] < rc[i] || ry[j] < ry[i]);
        REQUIRE(front[i] == !dominated);
    }
}
