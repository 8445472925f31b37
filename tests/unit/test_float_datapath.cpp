// The float datapath's parts: format decoding (every code of the 8- and 16-bit formats), the
// one rounding of a step (exhaustively on a tiny format against a brute-force enumeration),
// the exact sum, the fused step on the published V100 vectors of Fasi, Higham, Mikaitis and
// Pranesh (2021), and the stage chain with promotion and block scales.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "datapath/exact_sum.h"
#include "datapath/float_accumulator.h"
#include "datapath/float_format.h"
#include "datapath/float_packed.h"
#include "datapath/float_rounding.h"
#include "datapath/float_step.h"

using namespace accsim;

namespace {

const double k_inf = std::numeric_limits<double>::infinity();

FloatValue fv(double v, const char* fmt = "fp32") {
    const FloatFormat& f = operand_float_format(fmt);
    return f.decode(f.encode(v));
}

// Every finite value of a register format (both signs), ascending.
std::vector<double> all_values(const FloatFormat& f) {
    std::vector<double> pos;
    for (int e = f.min_exponent(); e <= f.max_exponent(); ++e)
        for (uint64_t m = 0; m < (uint64_t{1} << f.mantissa_bits); ++m) {
            if (e == f.min_exponent()) pos.push_back(std::ldexp(double(m), e - f.mantissa_bits));
            pos.push_back(
                std::ldexp(double((uint64_t{1} << f.mantissa_bits) | m), e - f.mantissa_bits));
        }
    std::sort(pos.begin(), pos.end());
    pos.erase(std::unique(pos.begin(), pos.end()), pos.end());
    return pos;
}

// The brute-force rounding of a positive value: nearest (ties to the even significand) or the
// largest value not above; infinity when the rounded result would need a larger exponent (for
// RZ: values from 2^(emax+1) on, as the tensor cores' conversions do).
double brute_round(double v, const std::vector<double>& vals, const FloatFormat& f, Rounding r) {
    const double ulp_top = std::ldexp(1.0, f.max_exponent() - f.mantissa_bits);
    const double beyond = vals.back() + ulp_top;  // 2^(emax+1): the first unrepresentable
    auto below = std::upper_bound(vals.begin(), vals.end(), v);
    const double lo = *(below - 1);
    const double hi = below == vals.end() ? beyond : *below;
    if (v >= beyond) return k_inf;
    double out;
    if (r == Rounding::rz || v == lo) {
        out = lo;
    } else if (v - lo != hi - v) {
        out = v - lo < hi - v ? lo : hi;
    } else {  // tie: the even significand
        const double q =
            std::ldexp(lo, f.mantissa_bits - std::max(std::ilogb(lo), f.min_exponent()));
        out = std::fmod(q, 2.0) == 0 ? lo : hi;
        if (lo == 0) out = lo;
    }
    return out >= beyond ? k_inf : out;
}

}  // namespace

TEST_CASE("float formats decode every code as the standards define") {
    const FloatFormat& e4m3 = operand_float_format("e4m3");
    CHECK(std::isnan(e4m3.to_double(0x7f)));
    CHECK(std::isnan(e4m3.to_double(0xff)));
    CHECK(e4m3.to_double(0x7e) == 448);
    CHECK(e4m3.to_double(0x01) == std::ldexp(1.0, -9));
    CHECK(e4m3.to_double(0x38) == 1.0);
    CHECK(e4m3.max_finite() == 448);
    const FloatFormat& e5m2 = operand_float_format("e5m2");
    CHECK(e5m2.to_double(0x7c) == k_inf);
    CHECK(std::isnan(e5m2.to_double(0x7d)));
    CHECK(e5m2.to_double(0x7b) == 57344);
    CHECK(e5m2.max_finite() == 57344);
    CHECK(operand_float_format("fp16").to_double(0x3c00) == 1.0);
    CHECK(operand_float_format("fp16").to_double(0x0001) == std::ldexp(1.0, -24));
    CHECK(operand_float_format("bf16").to_double(0x3f80) == 1.0);
    CHECK(operand_float_format("bf16").to_double(0xff80) == -k_inf);
    // tf32 ignores the low 13 bits of an fp32 pattern.
    const FloatFormat& tf32 = operand_float_format("tf32");
    CHECK(tf32.to_double(0x3f800000u | 0x1fffu) == 1.0);
    CHECK(tf32.to_double(0x3f802000u) == 1.0 + std::ldexp(1.0, -10));
    // Every 8- and 16-bit code: decode, value, and back to the same code (NaNs aside); the
    // alignment exponent is the value's for normals, the minimum for subnormals.
    for (const char* name : {"e4m3", "e5m2", "fp16", "bf16"}) {
        CAPTURE(name);
        const FloatFormat& f = operand_float_format(name);
        for (uint32_t c = 0; c < (1u << f.storage_bits); ++c) {
            const double v = f.to_double(c);
            if (std::isnan(v)) continue;
            CHECK(f.encode(v) == c);
            const FloatValue d = f.decode(c);
            if (d.cls != FloatClass::finite || d.sig == 0) continue;
            CHECK(std::ldexp(double(d.sig), d.lsb) == std::fabs(v));
            CHECK(d.exp == std::max(std::ilogb(v), f.min_exponent()));
        }
    }
}

TEST_CASE("one rounding into eXmY equals a brute-force enumeration, both modes") {
    for (auto [x, y] : {std::pair{3, 2}, std::pair{2, 3}, std::pair{4, 1}}) {
        const FloatFormat f = register_format(x, y);
        const std::vector<double> vals = all_values(f);
        CAPTURE(f.name);
        for (Rounding r : {Rounding::rne, Rounding::rz})
            for (int lsb = f.min_exponent() - f.mantissa_bits - 4; lsb <= 2; ++lsb)
                for (uint64_t mag = 1; mag < 4096; ++mag) {
                    const double v = std::ldexp(double(mag), lsb);
                    bool overflow = false;
                    const double got = round_to_format(false, mag, lsb, false, f, r, overflow);
                    const double want = brute_round(v, vals, f, r);
                    CAPTURE(v);
                    CAPTURE(std::string(to_string(r)));
                    REQUIRE(got == want);
                    CHECK(overflow == std::isinf(want));
                    bool o2 = false;
                    const double neg = round_to_format(true, mag, lsb, false, f, r, o2);
                    CHECK(neg == -want);
                    CHECK(std::signbit(neg) == (want != 0));  // underflow to zero is +0
                }
    }
}

TEST_CASE("sticky bits below the window break ties and push rounding up") {
    const FloatFormat f = register_format(8, 2);
    bool o = false;
    // 1.125 is halfway between 1.0 and 1.25: ties to even gives 1.0; a sticky bit tips it up.
    const u128 m = u128{9} << 60;  // 9 * 2^60 * 2^-63 = 1.125
    CHECK(round_to_format(false, m, -63, false, f, Rounding::rne, o) == 1.0);
    CHECK(round_to_format(false, m, -63, true, f, Rounding::rne, o) == 1.25);
    CHECK(round_to_format(false, m, -63, true, f, Rounding::rz, o) == 1.0);
}

TEST_CASE("the exact sum keeps every bit, across the whole range") {
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 200; ++trial) {
        ExactSum s;
        i128 ref = 0;  // the same values at a common scale 2^-40, small enough for 128 bits
        for (int i = 0; i < 50; ++i) {
            const bool neg = rng() & 1;
            const uint64_t mag = rng() >> 20;
            const int lsb = -40 + static_cast<int>(rng() % 30);
            s.add(neg, mag, lsb);
            const i128 v = static_cast<i128>(mag) << (lsb + 40);
            ref += neg ? -v : v;
        }
        CHECK(s.is_zero() == (ref == 0));
        const bool neg = ref < 0;
        const u128 mag = neg ? static_cast<u128>(-ref) : static_cast<u128>(ref);
        bool o1 = false, o2 = false;
        CHECK(s.to_double() ==
              round_to_format(neg, mag, -40, false, register_format(11, 52), Rounding::rne, o1));
        CHECK(s.rounded(register_format(5, 10), Rounding::rz, o1) ==
              round_to_format(neg, mag, -40, false, register_format(5, 10), Rounding::rz, o2));
    }
    // Extremes: the smallest product of fp32 subnormals next to a value near 2^1000.
    ExactSum s;
    s.add(false, 1, -298);
    s.add(false, 1, 1000);
    s.add(true, 1, 1000);
    CHECK(s.to_double() == std::ldexp(1.0, -298));
    CHECK(!s.fits_binary64() == false);
    s.add(false, 1, 0);
    CHECK(!s.fits_binary64());  // 1 + 2^-298 needs more than 53 bits
}

TEST_CASE("the fused step reproduces the published V100 tensor-core vectors") {
    // Fasi, Higham, Mikaitis, Pranesh (2021): fp16 products, fp32 accumulator, 4 products per
    // step, alignment to the largest exponent, truncation to 23 fraction bits, RZ.
    const FloatStep v100{register_format(8, 23), 23, Rounding::rz};
    auto step = [&](std::vector<double> a, std::vector<double> b, double c) {
        std::vector<Term> t;
        for (std::size_t i = 0; i < a.size(); ++i)
            t.push_back(product(fv(a[i], "fp16"), fv(b[i], "fp16")));
        return fused_step(t.data(), static_cast<int>(t.size()), c, v100).value;
    };
    // 1 * 1 + -(1 - 2^-24): c loses its last bit in the alignment.
    CHECK(step({1, 0, 0, 0}, {1, 0, 0, 0}, -(1 - std::ldexp(1.0, -24))) == std::ldexp(1.0, -23));
    // Four products of 1 and c = 1 + 2^-22 + 2^-23: the result is 5 (no normalisation between
    // the additions, and truncation).
    CHECK(step({1, 1, 1, 1}, {1, 1, 1, 1}, 1 + std::ldexp(1.0, -22) + std::ldexp(1.0, -23)) == 5.0);
    // Products 1, 1.5, 1.75, 1.875 with c = 1.875: 8.0.
    CHECK(step({1, 1.5, 1.75, 1.875}, {1, 1, 1, 1}, 1.875) == 8.0);
    // An IEEE fused multiply-add when G = 1 and F is absent.
    const FloatStep fma{register_format(8, 23), std::nullopt, Rounding::rne};
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<float> u(-4, 4);
    for (int i = 0; i < 20000; ++i) {
        const float a = u(rng) * std::ldexp(1.0f, static_cast<int>(rng() % 40) - 20);
        const float b = u(rng);
        const float c = u(rng) * std::ldexp(1.0f, static_cast<int>(rng() % 60) - 30);
        const Term t = product(fv(a), fv(b));
        CHECK(fused_step(&t, 1, c, fma).value == std::fma(a, b, c));
    }
}

TEST_CASE("special values follow IEEE through a step") {
    const FloatStep s{register_format(8, 23), 23, Rounding::rz};
    const double nan = std::numeric_limits<double>::quiet_NaN();
    Term t[2] = {product(fv(k_inf), fv(1.0)), product(fv(1.0), fv(2.0))};
    CHECK(fused_step(t, 2, 0.0, s).value == k_inf);
    CHECK(std::isnan(fused_step(t, 2, -k_inf, s).value));
    t[1] = product(fv(0.0), fv(k_inf));  // inf * 0
    CHECK(std::isnan(fused_step(t + 1, 1, 1.0, s).value));
    CHECK(std::isnan(fused_step(t, 0, nan, s).value));
    // An overflow: finite terms whose sum exceeds fp32 is an event, in both roundings.
    Term big[2] = {product(fv(3e38f), fv(1.0)), product(fv(3e38f), fv(1.0))};
    const StepOutcome o = fused_step(big, 2, 0.0, s);
    CHECK(o.value == k_inf);
    CHECK(o.overflow);
    // A term far below the window is swamped.
    Term small[2] = {product(fv(1.0), fv(1.0)), product(fv(std::ldexp(1.0f, -30)), fv(1.0))};
    CHECK(fused_step(small, 2, 0.0, s).swamped == 1);
    CHECK(fused_step(small, 2, 0.0, s).value == 1.0);
}

TEST_CASE("stages chain: tiles promoted into a wider register, with block scales") {
    // 8 products of 1 in tiles of 4 (e5m10 register, RNE) promoted into fp32.
    AccumulatorSpec spec;
    StageSpec s1;
    s1.kind = StageKind::floating;
    s1.exponent_bits = 5, s1.mantissa_bits = 10, s1.group = 2, s1.length = 4;
    StageSpec s2;
    s2.kind = StageKind::floating;
    spec.stages = {s1, s2};
    FloatAccumulator acc(spec);
    std::vector<FloatValue> x(8, fv(1.0, "e4m3")), w(8, fv(2.0, "e4m3"));
    DotInputs in;
    in.k = 8;
    in.x = x.data();
    in.w = w.data();
    FloatDot d;
    acc.run(in, d);
    CHECK(d.value == 16.0);
    CHECK(d.exact == 16.0);
    // Block scales of 0.5 (x) and 3 (w) per block of 4: each tile of 4 gives 8, promoted as
    // 8 * round(0.5 * 3) = 12, twice.
    std::vector<FloatValue> sx(2, fv(0.5)), sw(2, fv(3.0));
    in.block = 4;
    in.x_scale = sx.data();
    in.w_scale = sw.data();
    acc.run(in, d);
    CHECK(d.value == 24.0);
    CHECK(d.exact == 24.0);
    // A 12-bit integer tile stage handing exact tiles to an fp32 register: 8 products of 127*127
    // in tiles of 4 overflow 12 bits (wrap), the promoted sum carries the wrapped tiles.
    AccumulatorSpec mixed;
    StageSpec i1;
    i1.bits = 12, i1.length = 4;
    mixed.stages = {i1, s2};
    FloatAccumulator macc(mixed);
    std::vector<int32_t> xi(8, 127), wi(8, 127);
    DotInputs ii;
    ii.k = 8;
    ii.xi = xi.data();
    ii.wi = wi.data();
    macc.run(ii, d);
    CHECK(d.exact == 8 * 127 * 127);
    CHECK(d.events[0] == 8);  // each addition of 16129 leaves the 12-bit range
    // 4 * 16129 = 64516 wraps to 64516 mod 4096 = 3076, then [-2048, 2047]: 3076 - 4096 = -1020.
    CHECK(d.value == 2 * -1020.0);
}

TEST_CASE("the fast and packed first-stage steps equal the general path, bit for bit") {
    std::mt19937_64 rng(11);
    const char* specs[][2] = {{"e4m3", "e8m13:g32:f13:rz"},
                              {"e5m2", "e8m13:g32:f13:rz"},
                              {"fp16", "e8m23:g4:f23:rz"},
                              {"bf16", "e8m23:g16:f25:rz"},
                              {"fp16", "e5m10:g16:f25:rne"},
                              {"fp32", "e8m23:g8:f24:rz"},
                              {"e4m3", "128xe8m13:g32:f13:rz,e8m23"},
                              {"e4m3", "e8m23:g32:f25:rz"},
                              {"bf16", "e6m5:g3:f7:rne"}};
    for (auto& sp : specs) {
        CAPTURE(sp[0]);
        CAPTURE(sp[1]);
        const FloatFormat& f = operand_float_format(sp[0]);
        // Parse the spec through stages by hand: "[LENx]eXmY:gG:fF:r" with an optional fp32
        // promotion stage.
        AccumulatorSpec acc;
        std::string text = sp[1];
        while (!text.empty()) {
            const auto comma = text.find(',');
            std::string st = text.substr(0, comma);
            text = comma == std::string::npos ? "" : text.substr(comma + 1);
            StageSpec s;
            s.kind = StageKind::floating;
            if (st.find('x') != std::string::npos) {
                s.length = std::stoll(st.substr(0, st.find('x')));
                st = st.substr(st.find('x') + 1);
            }
            std::size_t pos = 0;
            std::vector<std::string> parts;
            while ((pos = st.find(':')) != std::string::npos) {
                parts.push_back(st.substr(0, pos));
                st = st.substr(pos + 1);
            }
            parts.push_back(st);
            s.exponent_bits = std::stoi(parts[0].substr(1, parts[0].find('m') - 1));
            s.mantissa_bits = std::stoi(parts[0].substr(parts[0].find('m') + 1));
            for (std::size_t i = 1; i < parts.size(); ++i) {
                if (parts[i][0] == 'g') s.group = std::stoll(parts[i].substr(1));
                if (parts[i][0] == 'f') s.fraction_bits = std::stoi(parts[i].substr(1));
                if (parts[i] == "rz") s.rounding = Rounding::rz;
            }
            acc.stages.push_back(s);
        }
        FloatAccumulator fast(acc), slow(acc);
        slow.set_fast(false);
        const uint32_t codes = f.storage_bits == 32 ? 0 : (1u << f.storage_bits);
        int packed_runs = 0;
        for (int trial = 0; trial < 300; ++trial) {
            const int64_t k = 1 + static_cast<int64_t>(rng() % 300);
            std::vector<FloatValue> x, w;
            for (int64_t i = 0; i < k; ++i) {
                uint32_t a = static_cast<uint32_t>(rng()), b = static_cast<uint32_t>(rng());
                if (codes) a %= codes, b %= codes;
                if (f.storage_bits == 32) {  // keep fp32 exponents moderate, some far apart
                    a = (a & 0x807fffffu) | ((100u + (a >> 23) % 60u) << 23);
                    b = (b & 0x807fffffu) | ((100u + (b >> 23) % 60u) << 23);
                }
                x.push_back(f.decode(a));
                w.push_back(f.decode(b));
                if (rng() % 16 == 0) x.back() = f.decode(0);  // zeros
                // Infinities and NaNs in one trial of four (the packed path takes finite rows).
                if (trial % 4 && x.back().cls != FloatClass::finite) x.back() = f.decode(1);
                if (trial % 4 && w.back().cls != FloatClass::finite) w.back() = f.decode(1);
            }
            DotInputs in;
            in.k = k;
            in.x = x.data();
            in.w = w.data();
            FloatDot a, b, c;
            fast.run(in, a);
            slow.run(in, b);
            CAPTURE(trial);
            const bool same = (std::isnan(a.value) && std::isnan(b.value)) || a.value == b.value;
            REQUIRE(same);
            CHECK(std::signbit(a.value) == std::signbit(b.value));
            CHECK(((std::isnan(a.exact) && std::isnan(b.exact)) || a.exact == b.exact));
            CHECK(a.exact_is_binary64 == b.exact_is_binary64);
            CHECK(a.events == b.events);
            CHECK(a.swamped == b.swamped);
            // The packed (SIMD) first stage, with the exact sum in 64 bits where it fits.
            const PackedFloats px = pack_floats(x.data(), k, f.mantissa_bits);
            const PackedFloats pw = pack_floats(w.data(), k, f.mantissa_bits);
            if (!px.finite || !pw.finite) continue;  // the callers pack finite rows only
            ++packed_runs;
            in.x_sig = px.sig.data();
            in.x_exp = px.exp.data();
            in.w_sig = pw.sig.data();
            in.w_exp = pw.exp.data();
            in.mantissa_sum = 2 * f.mantissa_bits;
            in.exact_in_64 = exact_fits_int64(f, f, k, in.exact_base);
            fast.run(in, c);
            CHECK(((std::isnan(c.value) && std::isnan(b.value)) || c.value == b.value));
            CHECK(std::signbit(c.value) == std::signbit(b.value));
            CHECK(c.exact == b.exact);
            CHECK(c.events == b.events);
            CHECK(c.swamped == b.swamped);
            CHECK(c.exact_is_binary64 == b.exact_is_binary64);
        }
        CHECK(packed_runs >= 200);
    }
}
