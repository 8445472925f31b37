#pragma once
// What a model needs from the layer it runs and gives back per output: the orchestration layer
// implements these over a trace's lowered layer (the models do not know about traces).
#include <cstdint>
#include <optional>

#include "datapath/dot_outcome.h"
#include "datapath/fast_reducer.h"

namespace accsim {

class OperandSource {
  public:
    virtual ~OperandSource() = default;
    // x[k0..k1) of output position m of group g, and q[k0..k1) of output channel n of group g,
    // in dot-product order.
    virtual void x(int64_t group, int64_t m, int64_t k0, int64_t k1, int32_t* out) const = 0;
    virtual void q(int64_t group, int64_t n, int64_t k0, int64_t k1, int32_t* out) const = 0;
    virtual std::optional<int64_t> bias(int64_t group, int64_t n) const = 0;
    // Bulk forms: rows [m0, m1) of x (each k long), and all `n` channels' q (each k long).
    // The defaults call x() and q(); a source may serve them faster.
    virtual void x_rows(int64_t group, int64_t m0, int64_t m1, int64_t k, int32_t* out) const {
        for (int64_t m = m0; m < m1; ++m) x(group, m, 0, k, out + (m - m0) * k);
    }
    virtual void q_rows(int64_t group, int64_t n, int64_t k, int32_t* out) const {
        for (int64_t c = 0; c < n; ++c) q(group, c, 0, k, out + c * k);
    }
};

class OutputSink {
  public:
    virtual ~OutputSink() = default;
    virtual void output(int64_t group, int64_t m, int64_t n, const DotOutcome& d) = 0;
    // Outputs [m0, m0 + rows) x [n0, n0 + cols) of a group at once, from the fast replay.
    virtual void output_block(int64_t group, int64_t m0, int64_t n0, const OutputBlock& b) = 0;
};

}  // namespace accsim
