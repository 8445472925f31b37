#include "datapath/float_accumulator.h"

#include <cmath>
#include <stdexcept>

#include "datapath/float_fast_steps.h"
#include "datapath/float_packed.h"
#include "datapath/overflow.h"

namespace accsim {

namespace {

const FloatFormat& fp32() {
    static const FloatFormat f = register_format(8, 23);
    return f;
}

Term as_term(const FloatValue& v) {
    Term t;
    t.cls = v.cls;
    t.negative = v.negative;
    t.exp = v.exp;
    t.lsb = v.lsb;
    t.sig = v.sig;
    return t;
}

// t * v exactly (v a scale factor).
Term scaled(const Term& t, const FloatValue& v) {
    Term r = t;
    if (t.cls == FloatClass::nan || v.cls == FloatClass::nan) {
        r.cls = FloatClass::nan;
        return r;
    }
    r.negative = t.negative != v.negative;
    if (t.cls == FloatClass::infinite || v.cls == FloatClass::infinite) {
        r.cls = t.is_zero() || v.is_zero() ? FloatClass::nan : FloatClass::infinite;
        return r;
    }
    r.exp += v.exp;
    r.lsb += v.lsb;
    r.sig *= v.sig;
    return r;
}

}  // namespace

FloatAccumulator::FloatAccumulator(const AccumulatorSpec& acc) {
    acc.check();
    if (!acc.has_float()) throw std::logic_error("FloatAccumulator: no float stage");
    m_first_float = acc.first_float();
    for (const StageSpec& spec : acc.stages) {
        Stage s;
        s.spec = spec;
        s.is_float = spec.is_float();
        if (s.is_float) {
            s.step.format = register_format(spec.exponent_bits, spec.mantissa_bits);
            s.step.fraction_bits = spec.fraction_bits;
            s.step.rounding = spec.rounding;
            s.pending.reserve(static_cast<std::size_t>(spec.group));
        } else if (spec.reduction != Reduction::sequential) {
            throw std::logic_error(
                "FloatAccumulator: integer stages before float ones add in sequence");
        }
        m_stages.push_back(std::move(s));
    }
}

int FloatAccumulator::scaling_stage(bool integer_operands) const {
    if (integer_operands) return static_cast<int>(m_first_float) - 1;
    return m_stages.size() > 1 ? 0 : -1;
}

int64_t FloatAccumulator::scaling_span(bool integer_operands, int64_t k) const {
    const int j = scaling_stage(integer_operands);
    if (j < 0) return 0;
    int64_t span = 1;
    for (int i = 0; i <= j; ++i) {
        span *= *m_stages[static_cast<std::size_t>(i)].spec.length;
        if (span >= k) return k;
    }
    return span;
}

bool FloatAccumulator::exact_products(const DotInputs& in) {
    // Finite operands only (the general path handles infinities and NaNs). The exact sum of the
    // products in 128 bits at 2^-64 where they are small enough (FP8 and fp16 always).
    constexpr int k_base = -64;
    bool narrow = !in.block;
    for (int64_t i = 0; i < in.k; ++i) {
        const FloatValue& a = in.x[i];
        const FloatValue& b = in.w[i];
        if (a.cls != FloatClass::finite || b.cls != FloatClass::finite) return false;
        narrow = narrow && a.lsb + b.lsb >= k_base && a.exp + b.exp < 34;  // |product| < 2^36
    }
    if (narrow) {
        i128 exact = 0;
        for (int64_t i = 0; i < in.k; ++i) {
            const FloatValue& a = in.x[i];
            const FloatValue& b = in.w[i];
            const i128 p = static_cast<i128>(u128{a.sig * b.sig} << (a.lsb + b.lsb - k_base));
            exact += a.negative != b.negative ? -p : p;
        }
        m_exact.add(exact < 0, abs_u128(exact), k_base);
        return true;
    }
    for (int64_t i = 0; i < in.k; ++i) {
        Term e = product(in.x[i], in.w[i]);
        if (in.block) {
            const int64_t b = i / in.block;
            e = scaled(scaled(e, in.x_scale[b]), in.w_scale[b]);
        }
        if (e.cls != FloatClass::finite) return false;  // a NaN scale
        m_exact.add(e.negative, e.sig, e.lsb);
    }
    return true;
}

bool FloatAccumulator::run_fast(const DotInputs& in, FloatDot& out) {
    Stage& s0 = m_stages.front();
    if (!in.x || !s0.is_float || (in.block && m_scaling < 0) ||
        !fast_steps_apply(s0.step, s0.spec.group))
        return false;
    const bool packed = in.x_sig != nullptr;  // the caller checked these rows are finite
    if (packed && in.exact_in_64 && !in.block) {
        const int64_t e = packed_exact(in.x_sig, in.x_exp, in.w_sig, in.w_exp, in.k,
                                       in.mantissa_sum, in.exact_base);
        const uint64_t mag =
            e < 0 ? uint64_t{0} - static_cast<uint64_t>(e) : static_cast<uint64_t>(e);
        m_exact.add(e < 0, mag, in.exact_base);
    } else if (!exact_products(in)) {
        return false;
    }
    const int64_t tile = s0.spec.length ? *s0.spec.length : in.k;
    for (int64_t t0 = 0; t0 < in.k; t0 += tile) {
        const int64_t n = std::min(tile, in.k - t0);
        FastStepCounts counts;
        const double v =
            packed ? packed_steps(in.x_sig + t0, in.x_exp + t0, in.w_sig + t0, in.w_exp + t0, n,
                                  0.0, s0.step, s0.spec.group, in.mantissa_sum, counts)
                   : fast_steps(in.x + t0, in.w + t0, n, 0.0, s0.step, s0.spec.group, counts);
        out.events[0] += counts.events;
        out.swamped[0] += counts.swamped;
        if (m_stages.size() == 1) {
            s0.reg = v;
        } else {
            m_last_product = t0 + n - 1;
            hand_on(0, float_value(v, s0.step.format), out);
        }
    }
    for (std::size_t j = 1; j < m_stages.size(); ++j) flush(j, out);
    return true;
}

void FloatAccumulator::run(const DotInputs& in, FloatDot& out) {
    const bool integer = in.xi != nullptr;
    m_in = &in;
    m_scaling = in.block ? scaling_stage(integer) : -1;
    const bool in_product_scales = in.block && m_scaling < 0;
    for (Stage& s : m_stages) {
        s.reg = 0;
        s.ireg = 0;
        s.taken = 0;
        s.pending.clear();
    }
    out.events.assign(m_stages.size(), 0);
    out.swamped.assign(m_stages.size(), 0);
    out.exact_is_nan = false;
    out.exact_inf = 0;
    m_exact.clear();
    bool pos_inf = false, neg_inf = false;
    if (m_fast_enabled && run_fast(in, out)) {
        finish(out, false, false);
        return;
    }
    // run_fast may have started: start again.
    m_exact.clear();
    for (Stage& s : m_stages) {
        s.reg = 0;
        s.taken = 0;
        s.pending.clear();
    }
    out.events.assign(m_stages.size(), 0);
    out.swamped.assign(m_stages.size(), 0);
    for (int64_t i = 0; i < in.k; ++i) {
        m_last_product = i;
        Term t;
        if (integer) {
            t = as_term(integer_value(int64_t{in.xi[i]} * in.wi[i]));
        } else {
            t = product(in.x[i], in.w[i]);
        }
        Term exact = t;
        if (in.block) {
            const int64_t b = i / in.block;
            exact = scaled(scaled(t, in.x_scale[b]), in.w_scale[b]);
            if (in_product_scales) t = exact;
        }
        if (exact.cls == FloatClass::nan) out.exact_is_nan = true;
        if (exact.cls == FloatClass::infinite) (exact.negative ? neg_inf : pos_inf) = true;
        if (exact.cls == FloatClass::finite) m_exact.add(exact.negative, exact.sig, exact.lsb);
        if (integer)
            feed_int(0, int64_t{in.xi[i]} * in.wi[i], out);
        else
            feed(0, t, out);
    }
    for (std::size_t j = 0; j < m_stages.size(); ++j) flush(j, out);
    finish(out, pos_inf, neg_inf);
}

void FloatAccumulator::finish(FloatDot& out, bool pos_inf, bool neg_inf) {
    out.value = m_stages.back().reg;
    if (pos_inf && neg_inf) out.exact_is_nan = true;
    if (!out.exact_is_nan && (pos_inf || neg_inf)) out.exact_inf = pos_inf ? 1 : -1;
    out.exact_is_binary64 = true;
    if (out.exact_is_nan) {
        out.exact = out.exact_fp32 = std::nan("");
    } else if (out.exact_inf) {
        out.exact = out.exact_fp32 = out.exact_inf * HUGE_VAL;
    } else {
        out.exact = m_exact.to_double();
        out.exact_is_binary64 = m_exact.fits_binary64();
        bool overflow = false;
        out.exact_fp32 = m_exact.rounded(fp32(), Rounding::rne, overflow);
    }
}

void FloatAccumulator::step(std::size_t j, FloatDot& out) {
    Stage& s = m_stages[j];
    const StepOutcome o =
        fused_step(s.pending.data(), static_cast<int>(s.pending.size()), s.reg, s.step);
    s.reg = o.value;
    out.events[j] += o.overflow;
    out.swamped[j] += o.swamped;
    s.pending.clear();
}

void FloatAccumulator::feed(std::size_t j, const Term& t, FloatDot& out) {
    Stage& s = m_stages[j];
    s.pending.push_back(t);
    if (static_cast<int64_t>(s.pending.size()) == s.spec.group) step(j, out);
    ++s.taken;
    if (s.spec.length && s.taken == *s.spec.length) close_tile(j, out);
}

void FloatAccumulator::feed_int(std::size_t j, int64_t v, FloatDot& out) {
    Stage& s = m_stages[j];
    const Fitted f = fit(i128{s.ireg} + v, s.spec.bits, s.spec.overflow);
    s.ireg = f.value;
    out.events[j] += f.event;
    ++s.taken;
    if (s.spec.length && s.taken == *s.spec.length) close_tile(j, out);
}

void FloatAccumulator::close_tile(std::size_t j, FloatDot& out) {
    Stage& s = m_stages[j];
    s.taken = 0;
    if (!s.is_float) {
        const int64_t v = s.ireg;
        s.ireg = 0;
        if (!m_stages[j + 1].is_float)
            feed_int(j + 1, v, out);
        else
            hand_on(j, integer_value(v), out);
        return;
    }
    if (!s.pending.empty()) step(j, out);
    const double v = s.reg;
    s.reg = 0;
    hand_on(j, float_value(v, s.step.format), out);
}

void FloatAccumulator::hand_on(std::size_t j, const FloatValue& v, FloatDot& out) {
    Term t = as_term(v);
    if (static_cast<int>(j) == m_scaling) {
        // The CUDA-core promotion: one fp32 product of the two block scales, then one FMA.
        const int64_t b = m_last_product / m_in->block;
        const Term s = product(m_in->x_scale[b], m_in->w_scale[b]);
        FloatValue sv;
        if (s.cls != FloatClass::finite) {
            sv.cls = s.cls;
            sv.negative = s.negative;
        } else {
            bool overflow = false;
            const double d =
                round_to_format(s.negative, s.sig, s.lsb, false, fp32(), Rounding::rne, overflow);
            sv = float_value(d, fp32());
        }
        t = scaled(t, sv);
    }
    feed(j + 1, t, out);
}

void FloatAccumulator::flush(std::size_t j, FloatDot& out) {
    Stage& s = m_stages[j];
    if (j + 1 < m_stages.size()) {
        if (s.taken > 0) close_tile(j, out);
        return;
    }
    if (!s.pending.empty()) step(j, out);
}

}  // namespace accsim
