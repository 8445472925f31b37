#pragma once
// Per-layer overflow statistics, accumulated one dot product at a time. Typed counters,
// each described once here; derived figures (means, widths) are computed when reported.
#include <cmath>
#include <cstdint>
#include <vector>

#include "dot_outcome.h"
#include "value_range.h"
#include "wide_int.h"

namespace accsim {

struct OverflowStats {
    uint64_t outputs = 0;  // dot products replayed
    uint64_t events = 0;   // additions/loads whose exact result did not fit
    std::vector<uint64_t> events_by_stage;
    uint64_t outputs_with_events = 0;  // outputs with at least one event in any stage
    uint64_t outputs_corrupted = 0;    // final value != exact value
    u128 max_abs_error = 0;            // |final - exact|, accumulator units
    long double sum_abs_error = 0;     // for the mean over all outputs
    // Errors in real units (|final - exact| * input scale * weight scale), where scales are known.
    bool has_real_error = true;
    double max_abs_error_real = 0;
    long double sum_abs_error_real = 0;
    std::vector<ValueRange> observed_by_stage;  // unbounded partial sums, bias excluded

    explicit OverflowStats(std::size_t stages = 1)
        : events_by_stage(stages, 0), observed_by_stage(stages) {}

    // `real_scale`: the real value of one accumulator unit for this output, NaN if unknown.
    void add(const DotOutcome& d, double real_scale) {
        for (std::size_t j = 0; j < observed_by_stage.size(); ++j)
            observed_by_stage[j].merge(d.observed_by_stage[j]);
        add(d.events_by_stage.data(), d.final_value, d.exact, real_scale);
    }

    // One output given as its events per stage (one per stage), final and exact values; the
    // observed ranges are merged separately (observe).
    template <typename Count>
    void add(const Count* stage_events, int64_t final_value, i128 exact, double real_scale) {
        ++outputs;
        uint64_t e = 0;
        for (std::size_t j = 0; j < events_by_stage.size(); ++j) {
            events_by_stage[j] += stage_events[j];
            e += stage_events[j];
        }
        events += e;
        outputs_with_events += e != 0;
        const u128 err = abs_u128(i128{final_value} - exact);
        if (err != 0) {
            ++outputs_corrupted;
            if (err > max_abs_error) max_abs_error = err;
            sum_abs_error += static_cast<long double>(err);
        }
        if (std::isnan(real_scale)) {
            has_real_error = false;
        } else if (err != 0) {
            const double r = static_cast<double>(err) * real_scale;
            if (r > max_abs_error_real) max_abs_error_real = r;
            sum_abs_error_real += r;
        }
    }

    void observe(std::size_t stage, const ValueRange& r) { observed_by_stage[stage].merge(r); }

    void merge(const OverflowStats& o) {
        outputs += o.outputs;
        events += o.events;
        for (std::size_t j = 0; j < events_by_stage.size(); ++j) {
            events_by_stage[j] += o.events_by_stage[j];
            observed_by_stage[j].merge(o.observed_by_stage[j]);
        }
        outputs_with_events += o.outputs_with_events;
        outputs_corrupted += o.outputs_corrupted;
        if (o.max_abs_error > max_abs_error) max_abs_error = o.max_abs_error;
        sum_abs_error += o.sum_abs_error;
        has_real_error = has_real_error && o.has_real_error;
        if (o.max_abs_error_real > max_abs_error_real) max_abs_error_real = o.max_abs_error_real;
        sum_abs_error_real += o.sum_abs_error_real;
    }

    double mean_abs_error() const {
        return outputs ? static_cast<double>(sum_abs_error / outputs) : 0.0;
    }
    double mean_abs_error_real() const {
        return outputs ? static_cast<double>(sum_abs_error_real / outputs) : 0.0;
    }
    // Narrowest width holding every observed partial sum of every stage.
    int observed_bits() const {
        int b = 1;
        for (const ValueRange& r : observed_by_stage) b = b > r.bits() ? b : r.bits();
        return b;
    }
};

}  // namespace accsim
