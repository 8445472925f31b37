#pragma once
// LUT, flip-flop, DSP, BRAM and URAM estimates for a vector unit (FINN's MVAU) or a systolic
// array on an FPGA, by component, with the accumulator widths entering explicitly.
//
// Vector unit, P = pe, Q = simd, W/A = weight/input bits (FINN-R's HLS MVAU fit, Blott et al.,
// TRETS 2018, as Xilinx/finn's lut_estimation computes it):
//   LUT = 300 + 1.1 P (mult + tree + acc + thr + comp) + c2
//   mult = Q (2 ceil((W+A)/6) - 1)(W+A)            (0 with DSP multipliers: P Q ceil((W+A)/48)
//   DSPs) acc  = sum of the later stages' widths            (FINN: the one accumulator's width) thr
//   = (2^B - 1) acc_last ceil(depth/64),  comp = (2^B - 1) acc_last   (with thresholds) c2   = w
//   ceil(d/64) for weights in LUTRAM (w x d: the filter buffer's shape)
// One departure, so that stage 1's width counts as A2Q says it should: FINN's tree term
// (W+A)(2Q-1) counts Q leaves and Q-1 adders all W+A bits wide; here the leaves are
// min(W+A, b1) bits and the adder at level l is min(W+A+l, b1) bits, b1 = stage 1's register
// (an unconstrained tree of 32 8x8-bit products: 1065 LUTs against FINN's 1008).
// Flip-flops (FINN has no estimate): per PE the Q product registers and every stage's register,
// plus the Q-wide input register all PEs share.
//
// Systolic array, R x C PEs: each PE a multiplier (FINN's per-multiplier terms), a stage-1 adder
// and register of b1 bits, and its operand registers (W + A flip-flops); each later stage one
// adder and register per column; control 300 LUTs + 10 % of the datapath's LUTs (FINN's c0, c1).
//
// Buffers: w = bandwidth x 8 bits wide, d = ceil(size bits / w) deep; BRAM18 by FINN's
// width/depth table, URAM ceil(w/72) ceil(d/4096), LUTRAM w ceil(d/64) LUTs. The filter buffer
// uses the config's weight memory; ifmap and ofmap buffers are block RAM.
#include <vector>

#include "datapath/accumulator_spec.h"
#include "models/array_spec.h"
#include "models/fpga_spec.h"
#include "models/memory_spec.h"

namespace accsim {

struct FpgaResources {
    FpgaCount multiply;
    std::vector<FpgaCount> stages;
    FpgaCount thresholds;
    FpgaCount control;
    FpgaCount ifmap, filter, ofmap;
    FpgaCount total() const;
};

// `x_bits`, `w_bits`: the widest operands the datapath must take. Control LUTs are rounded down,
// as FINN truncates its whole sum (the datapath's terms are whole). Throws std::logic_error for a
// tensor-core array (the loader refuses it first).
// The array kind's estimate (ArrayKindModel::fpga_resources); the config loader refuses an
// FPGA target for a kind without one.
FpgaResources estimate_fpga(const ArraySpec& array, const MemorySpec& memory,
                            const AccumulatorSpec& acc, const FpgaSpec& fpga, int x_bits,
                            int w_bits);

// The parts the kinds' estimates are built from (FINN's cost formulas):
// a buffer of `b`'s size and port width in the given kind of RAM;
FpgaCount fpga_buffer(const BufferSpec& b, WeightMemory kind);
// one multiplier of a `product_bits`-bit product, in LUTs or DSP slices as the spec says;
FpgaCount fpga_multiplier(const FpgaSpec& f, int product_bits);
// an adder tree over `leaves` products of `product_bits`, no node wider than `cap` bits (LUTs);
double fpga_tree_luts(int64_t leaves, int product_bits, int cap);
// the output thresholds of `units` accumulators of `acc_bits` (none without a thresholds spec);
FpgaCount fpga_thresholds(const FpgaSpec& f, int acc_bits, double units);
// the three buffers: activations and outputs in BRAM, weights where the spec puts them;
void add_fpga_buffers(const MemorySpec& m, const FpgaSpec& f, FpgaResources& r);
// control: 300 LUTs plus a tenth of the datapath's (FINN truncates the sum).
double fpga_control_luts(const FpgaResources& r);

// FINN's BRAM18 count for a memory `width` bits wide and `depth` words deep.
double bram18_blocks(double width, double depth);

}  // namespace accsim
