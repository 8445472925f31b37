// The register boundaries, for every width: exactly at 2^(B-1)-1 and 2^(B-1), both ends,
// both policies, through the single narrowing function and through the reference reducer.
#include <doctest/doctest.h>

#include <vector>

#include "datapath/overflow.h"
#include "datapath/reference_reducer.h"
#include "datapath/stage_register.h"

using namespace accsim;

namespace {

DotOutcome replay(std::vector<int64_t> products, int bits, OverflowMode mode,
                  Reduction red = Reduction::sequential) {
    AccumulatorSpec acc;
    acc.stages = {StageSpec{bits, mode, std::nullopt, red}};
    ReferenceReducer r(acc);
    DotOutcome o;
    r.reduce(products.data(), products.size(), std::nullopt, o);
    return o;
}

int64_t top(int b) {
    return static_cast<int64_t>((i128{1} << (b - 1)) - 1);
}  // 2^(B-1) - 1
int64_t bottom(int b) {
    return static_cast<int64_t>(-(i128{1} << (b - 1)));
}  // -2^(B-1)

}  // namespace

TEST_CASE(
    "a B-bit wrap register holding 2^(B-1)-1 plus 1 gives -2^(B-1) and one event, for B = 2..64") {
    for (int b = 2; b <= 64; ++b) {
        CAPTURE(b);
        const DotOutcome o = replay({top(b), 1}, b, OverflowMode::wrap);
        CHECK(o.final_value == bottom(b));
        CHECK(o.events_by_stage[0] == 1);
        CHECK(o.corrupted());
        StageRegister reg(b, OverflowMode::wrap);
        CHECK_FALSE(reg.add(top(b)));
        CHECK(reg.add(1));
        CHECK(reg.value() == bottom(b));
        CHECK(reg.events() == 1);
    }
}

TEST_CASE(
    "a B-bit saturating register holding 2^(B-1)-1 plus 1 stays and counts one event, for B = "
    "2..64") {
    for (int b = 2; b <= 64; ++b) {
        CAPTURE(b);
        const DotOutcome o = replay({top(b), 1}, b, OverflowMode::saturate);
        CHECK(o.final_value == top(b));
        CHECK(o.events_by_stage[0] == 1);
        StageRegister reg(b, OverflowMode::saturate);
        reg.add(top(b));
        CHECK(reg.add(1));
        CHECK(reg.value() == top(b));
    }
}

TEST_CASE(
    "2^(B-1)-2 plus 1 reaches the top exactly without an event, for B = 2..64 and both policies") {
    for (int b = 2; b <= 64; ++b) {
        for (OverflowMode m : {OverflowMode::wrap, OverflowMode::saturate}) {
            CAPTURE(b);
            const DotOutcome o = replay({top(b) - 1, 1}, b, m);
            CHECK(o.final_value == top(b));
            CHECK(o.events() == 0);
            CHECK_FALSE(o.corrupted());
            CHECK(o.observed_by_stage[0].bits() == b);
        }
    }
}

TEST_CASE(
    "the negative end: -2^(B-1) minus 1 wraps to 2^(B-1)-1 or saturates, -2^(B-1)+1 minus 1 is "
    "exact") {
    for (int b = 2; b <= 64; ++b) {
        CAPTURE(b);
        const DotOutcome w = replay({bottom(b), -1}, b, OverflowMode::wrap);
        CHECK(w.final_value == top(b));
        CHECK(w.events() == 1);
        const DotOutcome s = replay({bottom(b), -1}, b, OverflowMode::saturate);
        CHECK(s.final_value == bottom(b));
        CHECK(s.events() == 1);
        for (OverflowMode m : {OverflowMode::wrap, OverflowMode::saturate}) {
            const DotOutcome ok = replay({bottom(b) + 1, -1}, b, m);
            CHECK(ok.final_value == bottom(b));
            CHECK(ok.events() == 0);
            CHECK(ok.observed_by_stage[0].bits() == b);
        }
    }
}

TEST_CASE("a tree stage counts loading a value that does not fit as an event") {
    for (int b = 2; b <= 63; ++b) {
        CAPTURE(b);
        const int64_t over = top(b) + 1;  // 2^(B-1)
        const DotOutcome w = replay({over}, b, OverflowMode::wrap, Reduction::tree);
        CHECK(w.final_value == bottom(b));
        CHECK(w.events() == 1);
        const DotOutcome s = replay({over}, b, OverflowMode::saturate, Reduction::tree);
        CHECK(s.final_value == top(b));
        CHECK(s.events() == 1);
        const DotOutcome fits = replay({top(b)}, b, OverflowMode::wrap, Reduction::tree);
        CHECK(fits.events() == 0);
        const DotOutcome neg = replay({bottom(b), -1}, b, OverflowMode::wrap, Reduction::tree);
        CHECK(neg.events() == 1);  // the loads fit; their sum does not
        CHECK(neg.final_value == top(b));
    }
}

TEST_CASE("fit() wraps modulo 2^B and clamps exactly, far outside the range too") {
    CHECK(fit(300, 8, OverflowMode::wrap).value == 44);
    CHECK(fit(-300, 8, OverflowMode::wrap).value == -44);
    CHECK(fit(256, 8, OverflowMode::wrap).value == 0);
    CHECK(fit(-129, 8, OverflowMode::wrap).value == 127);
    CHECK(fit(300, 8, OverflowMode::saturate).value == 127);
    CHECK(fit(-300, 8, OverflowMode::saturate).value == -128);
    const i128 big = (i128{1} << 100) + 5;
    CHECK(fit(big, 64, OverflowMode::wrap).value == 5);
    CHECK(fit(-big, 64, OverflowMode::saturate).value == INT64_MIN);
    CHECK(fit(i128{INT64_MAX} + INT64_MAX, 64, OverflowMode::wrap).value == -2);
    CHECK(fit(i128{INT64_MIN} + INT64_MIN, 64, OverflowMode::wrap).value == 0);
    CHECK(fit(1, 2, OverflowMode::wrap).event == false);
    CHECK(fit(2, 2, OverflowMode::wrap).value == -2);
    CHECK(fit(-3, 2, OverflowMode::wrap).value == 1);
}

TEST_CASE("a wrap-around register can overflow and still end right: transient overflow") {
    // 16-bit register: 30000 + 30000 wraps, -30000 brings it back in range: exact final value.
    const DotOutcome o = replay({30000, 30000, -30000}, 16, OverflowMode::wrap);
    CHECK(o.events() == 2);
    CHECK(o.final_value == 30000);
    CHECK_FALSE(o.corrupted());
    // The same with saturation is corrupted: 32767 - 30000 = 2767.
    const DotOutcome s = replay({30000, 30000, -30000}, 16, OverflowMode::saturate);
    CHECK(s.events() == 1);
    CHECK(s.final_value == 2767);
    CHECK(s.corrupted());
}
