#pragma once
// A trace layer bound to a configuration, as the replays see it: the layer as `groups`
// GEMMs of M positions x N channels x K (LayerWork), its operands served by output position
// and channel (OperandSource), and an OutputSink that gathers the overflow statistics and checks
// every exact result against the trace's recorded output. The audit (reference reducer) and the
// SystemC run (the models) both replay through it.
#include <cstdint>
#include <string>
#include <vector>

#include "config/hw_config.h"
#include "datapath/overflow_stats.h"
#include "engine/output_dump.h"
#include "models/layer_work.h"
#include "models/memory_model.h"
#include "models/value_interfaces.h"
#include "traces/lowering.h"
#include "traces/trace.h"

namespace accsim {

// A layer as the GEMMs the hardware runs (no operand is read).
LayerWork layer_work(const LayerSpec& layer);

class LayerBinding : public OperandSource {
  public:
    LayerBinding(const LayerSpec& layer, const HwConfig& config);

    const LayerSpec& layer() const { return m_layer; }
    const LoweredLayer& lowered() const { return m_low; }
    const LayerWork& work() const { return m_work; }
    const std::vector<int64_t>& bias_values() const { return m_bias; }

    // The lowered layer's position and the output channel of (group, m, n).
    int64_t position(int64_t group, int64_t m) const;
    int64_t channel(int64_t group, int64_t n) const;

    // Thread-safe bulk access for the fast replay: rows [m0, m1) of x (each k long), every
    // channel's q (n rows of k), and the group's biases (n of them, or null).
    void x_rows(int64_t group, int64_t m0, int64_t m1, int32_t* out) const;
    void q_rows(int64_t group, int32_t* out) const;
    // The group's n rows of q where they already lie side by side (static weights: linear and
    // conv2d), else null (a matmul's rhs columns are gathered by q_rows).
    const int32_t* group_weights(int64_t group) const;
    const int64_t* group_bias(int64_t group) const;

    void x(int64_t group, int64_t m, int64_t k0, int64_t k1, int32_t* out) const override;
    void x_rows(int64_t group, int64_t m0, int64_t m1, int64_t, int32_t* out) const override {
        x_rows(group, m0, m1, out);
    }
    void q_rows(int64_t group, int64_t, int64_t, int32_t* out) const override {
        q_rows(group, out);
    }
    void q(int64_t group, int64_t n, int64_t k0, int64_t k1, int32_t* out) const override;
    std::optional<int64_t> bias(int64_t group, int64_t n) const override;

  private:
    const LayerSpec& m_layer;
    LoweredLayer m_low;
    LayerWork m_work;
    std::vector<int64_t> m_bias;
    mutable std::vector<int32_t> m_scratch;
    mutable int64_t m_cached_pos = -1;
    mutable std::vector<int32_t> m_cached_x;
};

// Bytes per element moved for this layer under these stages.
ElementBytes element_bytes(const LayerSpec& layer, const AccumulatorSpec& acc);

class AuditSink : public OutputSink {
  public:
    // `manifest_path` names the file in a mismatch error.
    AuditSink(const LayerBinding& binding, const AccumulatorSpec& acc, std::string manifest_path);

    void output(int64_t group, int64_t m, int64_t n, const DotOutcome& d) override;
    // Outputs [m0, m0 + rows) x [n0, n0 + cols) of a group, from the fast replay: adds them to
    // `into` (not to `stats`) and checks them against the trace. Thread-safe.
    void output_block(int64_t group, int64_t m0, int64_t n0, const OutputBlock& block,
                      OverflowStats& into) const;
    void output_block(int64_t group, int64_t m0, int64_t n0, const OutputBlock& block) override {
        output_block(group, m0, n0, block, stats);
    }

    OverflowStats stats;
    bool verified() const { return m_expected != nullptr; }
    // Also record every output into `dump` (--dump-outputs).
    void keep_outputs(OutputDump* dump) { m_dump = dump; }

  private:
    void check(int64_t group, int64_t m, int64_t n, i128 exact_dot) const;

    const LayerBinding& m_binding;
    const TensorInfo* m_expected;
    BiasMode m_bias_mode;
    std::vector<double> m_scales;
    std::string m_manifest_path;
    OutputDump* m_dump = nullptr;
};

}  // namespace accsim
