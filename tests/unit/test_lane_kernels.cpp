// The fast replay's 16-lane kernels (lane_replay.h, lane_screen.h, lane_stage.h) against plain
// scalar models of what they promise, at their edges: every register width 1..31, wrap and
// saturate, registers starting at both ends of their range, products at the packed path's limit
// (|x q| < 2^25), chunks of odd and even length; then the whole replay on wide blocks and long dot
// products, where overflowing chunks are replayed in runs. Their names start like the
// differential test's, so that tests/CMakeLists.txt runs them again on every slower kernel
// (ACCSIM_KERNEL=portable|avx2).
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "datapath/fast_reducer.h"
#include "datapath/lane_replay.h"
#include "datapath/lane_screen.h"
#include "datapath/lane_stage.h"
#include "datapath/reference_reducer.h"

using namespace accsim;

namespace {

constexpr int L = 16;

int32_t pack_pair(int32_t a, int32_t b) {
    return static_cast<int32_t>((static_cast<uint32_t>(a) & 0xffffu) |
                                (static_cast<uint32_t>(b) << 16));
}

// One register, one product at a time: the definition.
int64_t step(int64_t r, int64_t p, int bits, bool wrap, uint32_t& events) {
    const int64_t lo = -(int64_t{1} << (bits - 1)), hi = (int64_t{1} << (bits - 1)) - 1;
    const int64_t v = r + p;
    int64_t f = v;
    if (wrap) {
        const int64_t m = int64_t{1} << bits;
        f = ((v - lo) % m + m) % m + lo;
    } else {
        f = std::clamp(v, lo, hi);
    }
    events += f != v;
    return f;
}

}  // namespace

TEST_CASE("the fast replay equals the reference: lane replay at every width and both ends") {
    std::mt19937_64 rng(7);
    int checked = 0;
    for (int bits = 1; bits <= 31; ++bits)
        for (bool wrap : {true, false})
            for (int trial = 0; trial < 12; ++trial) {
                const int64_t pairs = 1 + static_cast<int64_t>(rng() % 40);
                // Operands: 8-bit, or as wide as the packed path allows (|x q| < 2^25).
                const int32_t xmax = trial % 3 == 0 ? 4095 : 255,
                              qmax = trial % 3 == 0 ? 8191 : 127;
                std::uniform_int_distribution<int32_t> xd(-xmax, xmax), qd(-qmax, qmax);
                std::vector<int32_t> xs(static_cast<std::size_t>(2 * pairs)),
                    ws(static_cast<std::size_t>(2 * pairs * L));
                for (auto& v : xs) v = trial % 4 == 1 ? (rng() % 2 ? xmax : -xmax) : xd(rng);
                for (auto& v : ws) v = trial % 4 == 1 ? (rng() % 2 ? qmax : -qmax) : qd(rng);
                if (trial % 5 == 2) xs.back() = 0;  // an odd chunk's padding
                std::vector<int32_t> xp(static_cast<std::size_t>(pairs)),
                    wq(static_cast<std::size_t>(pairs * L));
                for (int64_t p = 0; p < pairs; ++p) {
                    xp[p] = pack_pair(xs[2 * p], xs[2 * p + 1]);
                    for (int l = 0; l < L; ++l)
                        wq[p * L + l] = pack_pair(ws[(2 * p) * L + l], ws[(2 * p + 1) * L + l]);
                }
                const int64_t lo = -(int64_t{1} << (bits - 1)), hi = (int64_t{1} << (bits - 1)) - 1;
                int32_t r[L];
                uint32_t ev[L];
                int64_t want[L];
                uint32_t want_ev[L];
                for (int l = 0; l < L; ++l) {
                    const int64_t start = l % 4 == 0   ? lo
                                          : l % 4 == 1 ? hi
                                          : l % 4 == 2 ? 0
                                                       : lo / 2;
                    r[l] = static_cast<int32_t>(start);
                    ev[l] = want_ev[l] = static_cast<uint32_t>(l);
                    want[l] = start;
                    for (int64_t i = 0; i < 2 * pairs; ++i)
                        want[l] =
                            step(want[l], int64_t{xs[i]} * ws[i * L + l], bits, wrap, want_ev[l]);
                }
                replay_lanes(xp.data(), wq.data(), 0, pairs, bits, wrap, r, ev);
                for (int l = 0; l < L; ++l) {
                    CAPTURE(bits);
                    CAPTURE(wrap);
                    CAPTURE(l);
                    REQUIRE(r[l] == want[l]);
                    REQUIRE(ev[l] == want_ev[l]);
                }
                ++checked;
            }
    CHECK(checked == 31 * 2 * 12);
}

TEST_CASE("the fast replay equals the reference: lane screens at the register's ends") {
    std::mt19937_64 rng(11);
    for (int trial = 0; trial < 4000; ++trial) {
        const int bits = 2 + static_cast<int>(rng() % 40);
        const int64_t lo = -(int64_t{1} << (bits - 1)), hi = (int64_t{1} << (bits - 1)) - 1;
        const LaneScreen s{lo,
                           hi,
                           trial % 7 == 0,
                           -(int64_t{1} << (rng() % 30)),
                           (int64_t{1} << (rng() % 30)) - 1,
                           trial % 9 != 0};
        int64_t S[L], A[L], R[L], U[L], dot[L];
        for (int l = 0; l < L; ++l) {
            A[l] = static_cast<int64_t>(rng() % (uint64_t{1} << (rng() % 32)));
            S[l] = A[l] == 0 ? 0 : static_cast<int64_t>(rng() % (2 * A[l] + 1)) - A[l];
            if (l % 3 == 0) S[l] = rng() % 2 ? A[l] : -A[l];  // all products of one sign
            const int64_t span = hi - lo + 1;
            R[l] = l % 5 == 0 ? hi : l % 5 == 1 ? lo : lo + static_cast<int64_t>(rng() % span);
            U[l] = static_cast<int64_t>(rng() % (uint64_t{1} << 31)) - (int64_t{1} << 30);
            dot[l] = l;
        }
        uint32_t fits = 0, covered = 0;
        bool all = s.seen;
        for (int l = 0; l < L; ++l) {
            const int64_t up = (A[l] + S[l] + 1) / 2, down = (A[l] - S[l] + 1) / 2;
            const bool reg = s.safe || (R[l] + up <= hi && R[l] - down >= lo);
            const bool cov = s.seen && U[l] - down >= s.width_lo && U[l] + up <= s.width_hi;
            fits |= static_cast<uint32_t>(reg) << l;
            covered |= static_cast<uint32_t>(cov) << l;
            all = all && reg && cov;
        }
        int64_t R2[L], U2[L], dot2[L];
        std::copy(R, R + L, R2);
        std::copy(U, U + L, U2);
        std::copy(dot, dot + L, dot2);
        CAPTURE(trial);
        REQUIRE(covered_lanes(s, S, A, U) == covered);
        const uint32_t got = screen_lanes(s, S, A, R2, U2, dot2);
        REQUIRE((got & 0xffffu) == fits);
        REQUIRE(((got & k_all_lanes_taken) != 0) == all);
        for (int l = 0; l < L; ++l) {
            REQUIRE(R2[l] == R[l] + (all ? S[l] : 0));
            REQUIRE(U2[l] == U[l] + (all ? S[l] : 0));
            REQUIRE(dot2[l] == dot[l] + (all ? S[l] : 0));
        }
    }
}

TEST_CASE("the fast replay equals the reference: the last of two stages at every width") {
    std::mt19937_64 rng(13);
    for (int bits = 2; bits <= 62; ++bits)
        for (bool wrap : {true, false}) {
            const std::size_t tiles = 1 + rng() % 70;
            const int64_t lo = -(int64_t{1} << (bits - 1)), hi = (int64_t{1} << (bits - 1)) - 1;
            std::vector<int64_t> b(tiles * L), u(tiles * L);
            const int mag = std::min(bits + 2, 60);
            for (std::size_t i = 0; i < b.size(); ++i) {
                b[i] =
                    static_cast<int64_t>(rng() % (uint64_t{1} << mag)) - (int64_t{1} << (mag - 1));
                u[i] = static_cast<int64_t>(rng() % (uint64_t{1} << 40)) - (int64_t{1} << 39);
            }
            int64_t r[L], low[L], high[L];
            uint32_t ev[L];
            for (int l = 0; l < L; ++l) {
                r[l] = l % 2 ? hi : lo;
                ev[l] = 0;
                low[l] = INT64_MAX;
                high[l] = INT64_MIN;
            }
            int64_t want[L], wlo[L], whi[L];
            uint32_t wev[L];
            for (int l = 0; l < L; ++l) {
                want[l] = r[l];
                wev[l] = 0;
                int64_t acc = 0;
                wlo[l] = INT64_MAX;
                whi[l] = INT64_MIN;
                for (std::size_t t = 0; t < tiles; ++t) {
                    want[l] = step(want[l], b[t * L + l], bits, wrap, wev[l]);
                    acc += u[t * L + l];
                    wlo[l] = std::min(wlo[l], acc);
                    whi[l] = std::max(whi[l], acc);
                }
            }
            last_stage_lanes(b.data(), u.data(), tiles, LastStage{bits, wrap}, r, ev, low, high);
            for (int l = 0; l < L; ++l) {
                CAPTURE(bits);
                CAPTURE(wrap);
                REQUIRE(r[l] == want[l]);
                REQUIRE(ev[l] == wev[l]);
                REQUIRE(low[l] == wlo[l]);
                REQUIRE(high[l] == whi[l]);
            }
        }
}

TEST_CASE("the fast replay equals the reference: wide blocks and long dot products") {
    // Blocks of several 16-column groups (and a partial one), dot products of thousands of
    // products with narrow registers: overflowing chunks are replayed in runs of up to 64.
    std::mt19937_64 rng(17);
    int with_events = 0;
    for (int trial = 0; trial < 60; ++trial) {
        const int64_t k = std::vector<int64_t>{1023, 2049, 4100}[rng() % 3];
        const int64_t rows = 1 + static_cast<int64_t>(rng() % 3);
        const int64_t cols = std::vector<int64_t>{16, 17, 32, 33, 47}[rng() % 5];
        AccumulatorSpec acc;
        StageSpec s1;
        s1.bits = 8 + static_cast<int>(rng() % 20);
        s1.overflow = rng() % 2 ? OverflowMode::wrap : OverflowMode::saturate;
        if (rng() % 2) {
            s1.length = std::vector<int64_t>{64, 128, 1000, 4096}[rng() % 4];
            acc.stages.push_back(s1);
            StageSpec s2;
            s2.bits = 16 + static_cast<int>(rng() % 30);
            s2.overflow = rng() % 2 ? OverflowMode::wrap : OverflowMode::saturate;
            acc.stages.push_back(s2);
        } else {
            acc.stages.push_back(s1);
        }
        acc.bias = rng() % 2 ? BiasMode::last : BiasMode::first;
        std::uniform_int_distribution<int32_t> xd(0, 255), qd(-128, 127);
        std::vector<int32_t> x(static_cast<std::size_t>(rows * k)),
            q(static_cast<std::size_t>(cols * k));
        for (auto& v : x) v = xd(rng);
        for (auto& v : q) v = qd(rng);
        std::vector<int64_t> bias(static_cast<std::size_t>(cols));
        for (auto& b : bias) b = static_cast<int64_t>(rng() % 100000) - 50000;
        FastReducer fast(acc, k);
        OutputBlock block;
        fast.run(x.data(), rows, q.data(), cols, bias.data(), block);
        ReferenceReducer ref(acc);
        DotOutcome d;
        std::vector<ValueRange> observed(acc.stages.size());
        std::vector<int64_t> p(static_cast<std::size_t>(k));
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c) {
                for (int64_t i = 0; i < k; ++i) p[i] = int64_t{x[r * k + i]} * q[c * k + i];
                ref.reduce(p.data(), static_cast<std::size_t>(k), bias[c], d);
                const std::size_t o = static_cast<std::size_t>(r * cols + c);
                CAPTURE(trial);
                CAPTURE(acc.describe());
                REQUIRE(block.final_value[o] == d.final_value);
                REQUIRE(i128{block.exact_dot[o]} == d.exact_dot);
                for (std::size_t j = 0; j < acc.stages.size(); ++j) {
                    REQUIRE(block.events[o * acc.stages.size() + j] == d.events_by_stage[j]);
                    observed[j].merge(d.observed_by_stage[j]);
                }
                with_events += d.events() > 0;
            }
        for (std::size_t j = 0; j < acc.stages.size(); ++j) {
            REQUIRE(block.observed[j].bits() == observed[j].bits());
            if (j > 0) REQUIRE(block.observed[j].lo == observed[j].lo);
            if (j > 0) REQUIRE(block.observed[j].hi == observed[j].hi);
        }
    }
    CHECK(with_events > 100);
}
