#pragma once
// A dot product through an accumulator with float stages (datapath/FLOAT.md): float operands
// into float stages, or integer operands through integer stages whose exact tile sums a float
// stage takes over (the dequantizing accumulation of W8A8 GEMMs). Also computes the exact
// result, the swamped terms and the overflow events of every stage.
//
//   FloatAccumulator acc(spec);                 // e.g. "128xe8m13:g32:f13:rz,e8m23"
//   DotInputs in;  in.k = k;  in.x = xv;  in.w = wv;   // decoded operands
//   FloatDot d = acc.run(in);                   // d.value, d.exact, d.events[stage], ...
#include <cstdint>
#include <vector>

#include "datapath/accumulator_spec.h"
#include "datapath/exact_sum.h"
#include "datapath/float_step.h"

namespace accsim {

// One dot product's operands. Exactly one of (x, w) and (xi, wi) is set.
struct DotInputs {
    int64_t k = 0;
    const FloatValue* x = nullptr;  // float operands, decoded
    const FloatValue* w = nullptr;
    const int32_t* xi = nullptr;  // integer operands
    const int32_t* wi = nullptr;
    // Block scales along k (none when block == 0): one value per block of `block` products for
    // each side. With two or more stages they are applied where a tile is handed from the
    // scaling stage to the next, as acc = round(acc + round_fp32(sx * sw) * tile); with one
    // stage they must be powers of two and scale every product inside the steps (OCP MX).
    int64_t block = 0;
    const FloatValue* x_scale = nullptr;
    const FloatValue* w_scale = nullptr;
    // Optional: the same float operands packed (float_packed.h), given only when both are finite:
    // the first stage then runs in SIMD lanes. `mantissa_sum`: the two formats' mantissa bits;
    // `exact_in_64`: the exact sum fits 64 bits at 2^exact_base (exact_fits_int64).
    const int32_t* x_sig = nullptr;
    const int16_t* x_exp = nullptr;
    const int32_t* w_sig = nullptr;
    const int16_t* w_exp = nullptr;
    int mantissa_sum = 0;
    bool exact_in_64 = false;
    int exact_base = 0;
};

struct FloatDot {
    double value = 0;               // the last stage's register
    double exact = 0;               // the exact result, rounded to binary64
    double exact_fp32 = 0;          // the exact result, correctly rounded to fp32 (RNE)
    bool exact_is_binary64 = true;  // `exact` is the exact result itself
    std::vector<uint32_t> events;   // per stage: integer overflows, float results gone infinite
    std::vector<uint32_t> swamped;  // per stage: non-zero terms truncated to nothing
    bool exact_is_nan = false;      // NaN, or infinities of both signs, among the inputs
    int exact_inf = 0;              // +1 / -1: an infinite input decides the exact result
};

class FloatAccumulator {
  public:
    // `acc` must have a float stage (acc.has_float()); integer stages before it must be
    // sequential. Throws std::logic_error otherwise (the config loader checks first).
    explicit FloatAccumulator(const AccumulatorSpec& acc);
    // The stage whose tiles receive the block scales when handed on: the last integer stage for
    // integer operands, else the first stage; none (-1) for a single float stage.
    int scaling_stage(bool integer_operands) const;
    // Products each scaling tile covers (the block must be a multiple of it); 0 if no tiles.
    int64_t scaling_span(bool integer_operands, int64_t k) const;
    void run(const DotInputs& in, FloatDot& out);
    // Off: every dot product takes the general path (to test the fast one against it).
    void set_fast(bool on) { m_fast_enabled = on; }

  private:
    struct Stage {
        StageSpec spec;
        FloatStep step;
        bool is_float = false;
        double reg = 0;     // float register
        int64_t ireg = 0;   // integer register
        int64_t taken = 0;  // inputs in the current tile
        std::vector<Term> pending;
    };
    bool run_fast(const DotInputs& in, FloatDot& out);
    bool exact_products(const DotInputs& in);  // into m_exact; false on a non-finite one
    void finish(FloatDot& out, bool pos_inf, bool neg_inf);
    void step(std::size_t j, FloatDot& out);  // stage j's pending terms, one fused step
    void feed(std::size_t j, const Term& t, FloatDot& out);
    void feed_int(std::size_t j, int64_t v, FloatDot& out);
    void close_tile(std::size_t j, FloatDot& out);
    void flush(std::size_t j, FloatDot& out);
    void hand_on(std::size_t j, const FloatValue& v, FloatDot& out);

    std::vector<Stage> m_stages;
    std::size_t m_first_float = 0;
    int m_scaling = -1;  // stage whose tiles carry the block scales
    const DotInputs* m_in = nullptr;
    int64_t m_last_product = 0;  // the product fed last (its tile is the one closing)
    ExactSum m_exact;
    bool m_fast_enabled = true;
};

}  // namespace accsim
