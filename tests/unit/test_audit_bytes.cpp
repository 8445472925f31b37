// Audit results as bytes (engine/audit_bytes.h, datapath/byte_stream.h): every field comes back
// bit for bit, bounds come back equal in every accessor and in with_widths, and bytes that do not
// parse or do not fit are refused.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "datapath/byte_stream.h"
#include "datapath/static_bounds.h"
#include "engine/audit_bytes.h"
#include "engine/layer_audit.h"
#include "engine/output_dump.h"

using namespace accsim;

namespace {

// 1 + 2^-60: a long double that a double would round to 1.
const long double k_fine = 1.0L + std::ldexp(1.0L, -60);

OverflowStats some_overflow_stats() {
    OverflowStats s(3);
    s.outputs = 1001;
    s.events = 1002;
    s.events_by_stage = {11, 12, 13};
    s.outputs_with_events = 1003;
    s.outputs_corrupted = 1004;
    s.max_abs_error = (static_cast<u128>(0x1234) << 64) + 0x89abcdefULL;  // above 2^64
    s.sum_abs_error = 123456.75L * k_fine;
    s.has_real_error = false;
    s.max_abs_error_real = 0.3125;
    s.sum_abs_error_real = 98.0625L * k_fine;
    s.observed_by_stage[0].include(-(static_cast<i128>(1) << 70));
    s.observed_by_stage[0].include(static_cast<i128>(1) << 66);
    s.observed_by_stage[1].include(-5);
    s.observed_by_stage[1].include(7);
    // Stage 3 stays empty, with lo and hi that are not zero.
    s.observed_by_stage[2].lo = -9;
    s.observed_by_stage[2].hi = 9;
    return s;
}

FloatStats some_float_stats() {
    FloatStats s(2);
    s.outputs = 2001;
    s.finite_outputs = 2002;
    s.max_abs_error = 1.0 / 3.0;
    s.sum_abs_error = 17.125L * k_fine;
    s.max_rel_error = 1e-300;
    s.sum_rel_error = 0.0625L * k_fine;
    s.rel_outputs = 2003;
    s.max_ulp_error = 2.5;
    s.not_correctly_rounded = 2004;
    s.inexact = 2005;
    s.swamped_by_stage = {21, 22};
    s.events_by_stage = {31, 32};
    s.outputs_with_events = 2006;
    s.infinities = 2007;
    s.nans = 2008;
    s.nonfinite_inputs = 2009;
    s.corrupted_to_nonfinite = 2010;
    return s;
}

void check_same(const OverflowStats& a, const OverflowStats& b) {
    CHECK(a.outputs == b.outputs);
    CHECK(a.events == b.events);
    CHECK(a.events_by_stage == b.events_by_stage);
    CHECK(a.outputs_with_events == b.outputs_with_events);
    CHECK(a.outputs_corrupted == b.outputs_corrupted);
    CHECK(a.max_abs_error == b.max_abs_error);
    CHECK(a.sum_abs_error == b.sum_abs_error);
    CHECK(a.has_real_error == b.has_real_error);
    CHECK(a.max_abs_error_real == b.max_abs_error_real);
    CHECK(a.sum_abs_error_real == b.sum_abs_error_real);
    REQUIRE(a.observed_by_stage.size() == b.observed_by_stage.size());
    for (std::size_t j = 0; j < a.observed_by_stage.size(); ++j) {
        CAPTURE(j);
        CHECK(a.observed_by_stage[j].lo == b.observed_by_stage[j].lo);
        CHECK(a.observed_by_stage[j].hi == b.observed_by_stage[j].hi);
        CHECK(a.observed_by_stage[j].empty == b.observed_by_stage[j].empty);
    }
}

void check_same(const FloatStats& a, const FloatStats& b) {
    CHECK(a.outputs == b.outputs);
    CHECK(a.finite_outputs == b.finite_outputs);
    CHECK(a.max_abs_error == b.max_abs_error);
    CHECK(a.sum_abs_error == b.sum_abs_error);
    CHECK(a.max_rel_error == b.max_rel_error);
    CHECK(a.sum_rel_error == b.sum_rel_error);
    CHECK(a.rel_outputs == b.rel_outputs);
    CHECK(a.max_ulp_error == b.max_ulp_error);
    CHECK(a.not_correctly_rounded == b.not_correctly_rounded);
    CHECK(a.inexact == b.inexact);
    CHECK(a.swamped_by_stage == b.swamped_by_stage);
    CHECK(a.events_by_stage == b.events_by_stage);
    CHECK(a.outputs_with_events == b.outputs_with_events);
    CHECK(a.infinities == b.infinities);
    CHECK(a.nans == b.nans);
    CHECK(a.nonfinite_inputs == b.nonfinite_inputs);
    CHECK(a.corrupted_to_nonfinite == b.corrupted_to_nonfinite);
}

void check_same_accessors(const StaticBounds& a, const StaticBounds& b) {
    CHECK(a.datatype_bits() == b.datatype_bits());
    CHECK(a.a2q_bits() == b.a2q_bits());
    CHECK(a.a2q_plus_bits() == b.a2q_plus_bits());
    CHECK(a.exact_bits() == b.exact_bits());
    CHECK(a.exact_bits_with_bias() == b.exact_bits_with_bias());
    CHECK(a.channels() == b.channels());
    CHECK(a.channels_at_risk() == b.channels_at_risk());
    CHECK(a.channels_a2q_plus_unsound() == b.channels_a2q_plus_unsound());
    REQUIRE(a.stages().size() == b.stages().size());
    for (std::size_t j = 0; j < a.stages().size(); ++j) {
        CAPTURE(j);
        CHECK(a.stages()[j].exact_bits == b.stages()[j].exact_bits);
        CHECK(a.stages()[j].tiles == b.stages()[j].tiles);
        CHECK(a.stages()[j].tiles_at_risk == b.stages()[j].tiles_at_risk);
    }
}

AccumulatorSpec two_stages(int b1, int b2, BiasMode bias = BiasMode::last) {
    AccumulatorSpec acc;
    StageSpec s1, s2;
    s1.bits = b1;
    s1.length = 64;
    s2.bits = b2;
    acc.stages = {s1, s2};
    acc.bias = bias;
    return acc;
}

// The with_widths widths to compare at: some put some channels at risk, not all.
const int k_b1s[] = {12, 14, 16, 19, 32};
const int k_b2s[] = {16, 20, 22, 24, 40};

// Equal in every accessor, and at every width of k_b1s x k_b2s.
void check_same(const StaticBounds& a, const StaticBounds& b, BiasMode bias) {
    check_same_accessors(a, b);
    for (int b1 : k_b1s)
        for (int b2 : k_b2s) {
            CAPTURE(b1);
            CAPTURE(b2);
            const AccumulatorSpec acc = two_stages(b1, b2, bias);
            check_same_accessors(a.with_widths(acc), b.with_widths(acc));
        }
}

// A layer of random weights (every third channel wide, the others narrow) and random biases.
struct Weights {
    OperandFormat x{8, true}, q{8, true};
    int64_t k = 200, channels = 40;
    std::vector<int32_t> weights;
    std::vector<int64_t> bias;
    LayerSpec layer;

    explicit Weights(unsigned seed) {
        std::mt19937 rng(seed);
        std::uniform_int_distribution<int32_t> w(-127, 127);
        std::uniform_int_distribution<int64_t> b(-(int64_t{1} << 22), int64_t{1} << 22);
        weights.resize(static_cast<std::size_t>(k * channels));
        for (std::size_t i = 0; i < weights.size(); ++i)
            weights[i] = (i / static_cast<std::size_t>(k)) % 3 ? w(rng) / 7 : w(rng);
        bias.resize(static_cast<std::size_t>(channels));
        for (auto& v : bias) v = b(rng);
        layer.name = "layer";
        layer.x.format = x;
        layer.q.format = q;
        layer.shape.k = k;
        layer.shape.channels = channels;
        layer.shape.outputs = 3 * channels;
    }
    StaticBounds bound(const AccumulatorSpec& acc, int threads = 2) const {
        return bound_channels(x, q, k, acc, weights.data(), channels, bias, threads);
    }
};

}  // namespace

TEST_CASE("audit bytes: overflow statistics come back field by field") {
    const OverflowStats s = some_overflow_stats();
    ByteWriter w;
    write_stats(w, s);
    const std::string bytes = w.bytes();
    ByteReader r(bytes);
    const OverflowStats back = read_stats(r);
    r.finish();
    check_same(back, s);
    CHECK(back.sum_abs_error != static_cast<long double>(static_cast<double>(s.sum_abs_error)));
    CHECK(back.max_abs_error > static_cast<u128>(UINT64_MAX));

    // A default one (one empty stage) too.
    ByteWriter w0;
    write_stats(w0, OverflowStats());
    ByteReader r0(w0.bytes());
    check_same(read_stats(r0), OverflowStats());
    r0.finish();
}

TEST_CASE("audit bytes: float statistics come back field by field") {
    const FloatStats s = some_float_stats();
    ByteWriter w;
    write_float_stats(w, s);
    ByteReader r(w.bytes());
    const FloatStats back = read_float_stats(r);
    r.finish();
    check_same(back, s);
    CHECK(back.sum_rel_error != static_cast<long double>(static_cast<double>(s.sum_rel_error)));
}

TEST_CASE("audit bytes: zero products come back") {
    ZeroProducts z;
    z.either = 123456789012345;
    z.input = 987654321;
    z.weight = -42;
    ByteWriter w;
    write_zeros(w, z);
    ByteReader r(w.bytes());
    const ZeroProducts back = read_zeros(r);
    r.finish();
    CHECK(back.either == z.either);
    CHECK(back.input == z.input);
    CHECK(back.weight == z.weight);
}

TEST_CASE("audit bytes: static bounds saved and loaded equal the bounded ones, at any width") {
    const Weights l(11);
    for (BiasMode mode : {BiasMode::last, BiasMode::first, BiasMode::none}) {
        CAPTURE(static_cast<int>(mode));
        const AccumulatorSpec acc = two_stages(14, 20, mode);
        const StaticBounds sb = l.bound(acc);
        REQUIRE(sb.channels() == static_cast<uint64_t>(l.channels));
        // The widths compared at separate the channels: some at risk, not all.
        uint64_t some = 0;
        for (int b1 : k_b1s)
            for (int b2 : k_b2s) {
                const uint64_t risk = sb.with_widths(two_stages(b1, b2, mode)).channels_at_risk();
                some += risk > 0 && risk < static_cast<uint64_t>(l.channels);
            }
        CHECK(some > 0);

        ByteWriter w;
        sb.save(w);
        const std::string bytes = w.bytes();
        ByteReader r(bytes);
        StaticBounds back(l.x, l.q, l.k, acc);
        back.load(r);
        r.finish();
        check_same(back, sb, mode);

        // Loading replaces what the target held.
        StaticBounds used = l.bound(acc);
        ByteWriter w1;
        StaticBounds(l.x, l.q, l.k, acc).save(w1);
        ByteReader r1(w1.bytes());
        used.load(r1);
        r1.finish();
        check_same(used, StaticBounds(l.x, l.q, l.k, acc), mode);
    }
}

TEST_CASE("audit bytes: static bounds saved under another layout are refused") {
    const Weights l(12);
    const AccumulatorSpec acc = two_stages(14, 20);
    ByteWriter w;
    l.bound(acc).save(w);
    const std::string bytes = w.bytes();

    AccumulatorSpec one;
    one.stages.push_back(StageSpec{});
    AccumulatorSpec three = acc;
    three.stages[1].length = 2;
    three.stages.push_back(StageSpec{});
    AccumulatorSpec other_tiles = acc;
    other_tiles.stages[0].length = 32;
    for (const AccumulatorSpec* spec : {&one, &three, &other_tiles}) {
        StaticBounds target = l.bound(*spec);
        const StaticBounds before = target;
        ByteReader r(bytes);
        CHECK_THROWS_AS(target.load(r), std::runtime_error);
        check_same_accessors(target, before);  // unchanged
    }
    // Other formats (another data-type bound).
    StaticBounds wider(OperandFormat{16, true}, l.q, l.k, acc);
    ByteReader r(bytes);
    CHECK_THROWS_AS(wider.load(r), std::runtime_error);
    // Other widths: the saved risk counts are those of the saved widths.
    StaticBounds narrower(l.x, l.q, l.k, two_stages(13, 20));
    ByteReader r2(bytes);
    CHECK_THROWS_AS(narrower.load(r2), std::runtime_error);
    // Another bias mode: the risk counts include the bias or not.
    StaticBounds unbiased(l.x, l.q, l.k, two_stages(14, 20, BiasMode::none));
    ByteReader r4(bytes);
    CHECK_THROWS_AS(unbiased.load(r4), std::runtime_error);
    // Other overflow modes change nothing in the bounds: they load.
    AccumulatorSpec saturating = acc;
    for (StageSpec& s : saturating.stages) s.overflow = OverflowMode::saturate;
    StaticBounds sat(l.x, l.q, l.k, saturating);
    ByteReader r3(bytes);
    sat.load(r3);
    r3.finish();
    check_same(sat, l.bound(saturating), BiasMode::last);
}

TEST_CASE("audit bytes: a whole layer audit comes back field by field") {
    const Weights l(13);
    const AccumulatorSpec acc = two_stages(14, 20);
    const AccumulatorSpec moved_acc = two_stages(19, 24);
    for (bool with_bounds : {false, true})
        for (bool with_floating : {false, true})
            for (bool moved : {false, true}) {
                CAPTURE(with_bounds);
                CAPTURE(with_floating);
                CAPTURE(moved);
                // As static_audit_at leaves it when moved: bounds re-evaluated at moved_acc.
                const AccumulatorSpec& at = moved ? moved_acc : acc;
                LayerAudit a;
                a.layer = &l.layer;
                a.overflow = some_overflow_stats();
                a.datatype_bits = 27;
                if (with_bounds) {
                    a.bounds.emplace(l.bound(acc));
                    if (moved) a.bounds = a.bounds->with_widths(moved_acc);
                }
                a.output_verified = true;
                a.statically_at_risk = true;
                a.stage1_safe = true;
                if (with_floating) a.floating = some_float_stats();

                ByteWriter w;
                write_audit(w, a);
                const std::string bytes = w.bytes();
                ByteReader r(bytes);
                const LayerAudit back = read_audit(r, l.layer, at);
                r.finish();
                CHECK(back.layer == &l.layer);
                check_same(back.overflow, a.overflow);
                CHECK(back.datatype_bits == a.datatype_bits);
                REQUIRE(back.bounds.has_value() == with_bounds);
                if (with_bounds) check_same(*back.bounds, *a.bounds, BiasMode::last);
                CHECK(back.output_verified);
                CHECK(back.statically_at_risk);
                CHECK(back.stage1_safe);
                REQUIRE(back.floating.has_value() == with_floating);
                if (with_floating) check_same(*back.floating, *a.floating);
                CHECK(back.outputs == nullptr);
                if (with_bounds && moved) {
                    // Read under the accumulator it was moved from: refused, not misread.
                    ByteReader rw(bytes);
                    CHECK_THROWS_AS(read_audit(rw, l.layer, acc), std::runtime_error);
                }

                // The flags are not all read from one place: each false comes back false.
                LayerAudit f = a;
                f.output_verified = false;
                f.stage1_safe = false;
                ByteWriter wf;
                write_audit(wf, f);
                ByteReader rf(wf.bytes());
                const LayerAudit fb = read_audit(rf, l.layer, at);
                rf.finish();
                CHECK(!fb.output_verified);
                CHECK(fb.statically_at_risk);
                CHECK(!fb.stage1_safe);
            }
}

TEST_CASE("audit bytes: kept outputs are never sent") {
    const Weights l(14);
    LayerAudit a;
    a.layer = &l.layer;
    a.outputs = std::make_shared<OutputDump>(l.layer, 1, false, StageSpec{});
    ByteWriter w;
    CHECK_THROWS_AS(write_audit(w, a), std::logic_error);
}

TEST_CASE("audit bytes: truncated bytes throw, extra bytes fail finish") {
    const Weights l(15);
    const AccumulatorSpec acc = two_stages(14, 20);
    LayerAudit a;
    a.overflow = some_overflow_stats();
    a.bounds.emplace(l.bound(acc));
    a.floating = some_float_stats();
    ByteWriter w;
    write_audit(w, a);
    const std::string bytes = w.bytes();

    // Every strict prefix runs out of bytes.
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        const std::string cut = bytes.substr(0, n);
        ByteReader r(cut);
        CHECK_THROWS_AS(read_audit(r, l.layer, acc), std::runtime_error);
    }
    // One byte more parses, and finish() refuses it.
    const std::string longer = bytes + '\0';
    ByteReader r(longer);
    read_audit(r, l.layer, acc);
    CHECK(!r.at_end());
    CHECK_THROWS_AS(r.finish(), std::runtime_error);

    // The reader's own checks: past the end, and a vector count beyond the bytes (refused before
    // it is allocated).
    ByteWriter small;
    small.put(uint32_t{7});
    ByteReader rs(small.bytes());
    CHECK_THROWS_AS(rs.get<uint64_t>(), std::runtime_error);
    // Counts whose size in bytes wraps around 2^64 (to 0 and to 8) are refused all the same.
    for (uint64_t count :
         {uint64_t{1} << 60, uint64_t{1} << 61, (uint64_t{1} << 61) + 1, ~uint64_t{0}}) {
        ByteWriter huge;
        huge.put(count);
        huge.put(uint64_t{5});
        ByteReader rh(huge.bytes());
        CHECK_THROWS_AS(rh.get_vector<uint64_t>(), std::runtime_error);
    }
}

TEST_CASE("a long double is written without its padding bytes: one value, one byte string") {
    long double a, b;
    std::memset(&a, 0x00, sizeof a);
    std::memset(&b, 0xa5, sizeof b);
    a = 1234.5625L * k_fine;
    b = a;
    ByteWriter wa, wb;
    wa.put(a);
    wb.put(b);
    CHECK(wa.bytes() == wb.bytes());
    CHECK(wa.bytes().size() == sizeof(long double));
    ByteReader r(wa.bytes());
    CHECK(r.get<long double>() == a);
}
