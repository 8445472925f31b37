#include "datapath/float_stats.h"

#include <algorithm>

namespace accsim {

double fp32_ulp(double x) {
    const int e = x == 0 ? -126 : std::max(std::ilogb(x), -126);
    return std::ldexp(1.0, e - 23);
}

void FloatStats::add(const FloatDot& d) {
    ++outputs;
    uint32_t e = 0;
    for (std::size_t j = 0; j < events_by_stage.size(); ++j) {
        events_by_stage[j] += d.events[j];
        swamped_by_stage[j] += d.swamped[j];
        e += d.events[j];
    }
    outputs_with_events += e != 0;
    if (std::isnan(d.value)) ++nans;
    if (std::isinf(d.value)) ++infinities;
    const bool exact_finite = !d.exact_is_nan && d.exact_inf == 0;
    if (!exact_finite) {
        ++nonfinite_inputs;
        // NaN == NaN counts as agreeing here; an infinity must match in sign.
        const bool same = d.exact_is_nan ? std::isnan(d.value) : d.value == d.exact;
        inexact += !same;
        not_correctly_rounded += !same;
        return;
    }
    if (!std::isfinite(d.value)) {
        ++corrupted_to_nonfinite;
        ++inexact;
        ++not_correctly_rounded;
        return;
    }
    // The exact result is finite: compare in binary64 (d.exact is its correct rounding, so the
    // error figures are exact to within a binary64 rounding of the difference).
    const bool equal = d.exact_is_binary64 && d.value == d.exact;
    inexact += !equal;
    not_correctly_rounded += d.value != d.exact_fp32;
    ++finite_outputs;
    const double err = equal ? 0.0 : std::fabs(d.value - d.exact);
    max_abs_error = std::max(max_abs_error, err);
    sum_abs_error += err;
    if (d.exact != 0) {
        const double rel = err / std::fabs(d.exact);
        max_rel_error = std::max(max_rel_error, rel);
        sum_rel_error += rel;
        ++rel_outputs;
    }
    max_ulp_error = std::max(max_ulp_error, err / fp32_ulp(d.exact));
}

void FloatStats::merge(const FloatStats& o) {
    outputs += o.outputs;
    finite_outputs += o.finite_outputs;
    max_abs_error = std::max(max_abs_error, o.max_abs_error);
    sum_abs_error += o.sum_abs_error;
    max_rel_error = std::max(max_rel_error, o.max_rel_error);
    sum_rel_error += o.sum_rel_error;
    rel_outputs += o.rel_outputs;
    max_ulp_error = std::max(max_ulp_error, o.max_ulp_error);
    not_correctly_rounded += o.not_correctly_rounded;
    inexact += o.inexact;
    for (std::size_t j = 0; j < events_by_stage.size(); ++j) {
        events_by_stage[j] += o.events_by_stage[j];
        swamped_by_stage[j] += o.swamped_by_stage[j];
    }
    outputs_with_events += o.outputs_with_events;
    infinities += o.infinities;
    nans += o.nans;
    nonfinite_inputs += o.nonfinite_inputs;
    corrupted_to_nonfinite += o.corrupted_to_nonfinite;
}

}  // namespace accsim
