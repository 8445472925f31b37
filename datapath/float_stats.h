#pragma once
// Per-layer figures of a float datapath (the report's "float" section, datapath/FLOAT.md),
// accumulated one dot product at a time and merged in task order.
#include <cmath>
#include <cstdint>
#include <vector>

#include "datapath/float_accumulator.h"

namespace accsim {

struct FloatStats {
    uint64_t outputs = 0;
    // Error against the exact result, over outputs whose value and exact result are finite.
    uint64_t finite_outputs = 0;
    double max_abs_error = 0;
    long double sum_abs_error = 0;
    double max_rel_error = 0;       // |value - exact| / |exact|, exact != 0
    long double sum_rel_error = 0;  // mean over the outputs with exact != 0
    uint64_t rel_outputs = 0;
    double max_ulp_error = 0;            // |value - exact| in fp32 ulps of the exact result
    uint64_t not_correctly_rounded = 0;  // value != the exact result rounded to fp32 (RNE)
    uint64_t inexact = 0;                // value != exact result
    std::vector<uint64_t> swamped_by_stage;
    std::vector<uint64_t> events_by_stage;
    uint64_t outputs_with_events = 0;
    uint64_t infinities = 0;              // outputs that are infinite
    uint64_t nans = 0;                    // outputs that are NaN
    uint64_t nonfinite_inputs = 0;        // outputs whose exact result is already inf/NaN (inputs)
    uint64_t corrupted_to_nonfinite = 0;  // finite exact result, infinite or NaN value

    explicit FloatStats(std::size_t stages = 1)
        : swamped_by_stage(stages, 0), events_by_stage(stages, 0) {}

    void add(const FloatDot& d);
    void merge(const FloatStats& o);
    uint64_t swamped() const {
        uint64_t s = 0;
        for (uint64_t v : swamped_by_stage) s += v;
        return s;
    }
    uint64_t events() const {
        uint64_t s = 0;
        for (uint64_t v : events_by_stage) s += v;
        return s;
    }
    double mean_abs_error() const {
        return finite_outputs ? static_cast<double>(sum_abs_error / finite_outputs) : 0.0;
    }
    double mean_rel_error() const {
        return rel_outputs ? static_cast<double>(sum_rel_error / rel_outputs) : 0.0;
    }
};

// One unit in the last place of fp32 at |x| (subnormal spacing below 2^-126).
double fp32_ulp(double x);

}  // namespace accsim
