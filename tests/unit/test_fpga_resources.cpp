// FPGA resources and energy on documented cases: each number derived by hand from the formulas
// in models/fpga_resources.h (FINN's MVAU fit and our departures) and models/fpga_energy.h.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/report_costs.h"
#include "models/fpga_energy.h"
#include "models/fpga_resources.h"

using namespace accsim;

namespace {

ArraySpec vector_unit(int64_t pe, int64_t simd) {
    ArraySpec a;
    a.kind = ArrayKind::vector;
    a.pe = pe, a.simd = simd;
    return a;
}

AccumulatorSpec stages(int64_t length, int bits1, int bits2) {
    AccumulatorSpec acc;
    StageSpec s1;
    s1.bits = bits1;
    s1.length = length;
    s1.reduction = Reduction::tree;
    StageSpec s2;
    s2.bits = bits2;
    acc.stages = {s1, s2};
    return acc;
}

// Buffers small enough to vanish from the LUT counts: 2 KiB at 4 bytes a cycle = 32 x 512.
MemorySpec memory() {
    MemorySpec m;
    m.ifmap = m.filter = m.ofmap = BufferSpec{2, 4, true};
    m.dram = DramSpec{4, 10};
    return m;
}

FpgaSpec fpga(MultiplierStyle mult = MultiplierStyle::lut) {
    FpgaSpec f;
    f.device.name = "test";
    f.device.capacity = {100000, 200000, 100, 100, 10};
    f.device.static_mw = 100;
    f.multipliers = mult;
    f.weights = WeightMemory::bram;
    f.power = {0.125, 0.3, 0.1, 16, 10, 30};
    return f;
}

}  // namespace

TEST_CASE("FINN's BRAM18 table by memory width and depth") {
    CHECK(bram18_blocks(1, 16384) == 1);
    CHECK(bram18_blocks(1, 16385) == 2);
    CHECK(bram18_blocks(2, 8192) == 1);
    CHECK(bram18_blocks(4, 4096) == 1);
    CHECK(bram18_blocks(3, 4097) == 2);
    CHECK(bram18_blocks(9, 2048) == 1);
    CHECK(bram18_blocks(10, 1024) == 1);
    CHECK(bram18_blocks(18, 1025) == 2);
    CHECK(bram18_blocks(36, 512) == 1);
    CHECK(bram18_blocks(37, 512) == 2);
    CHECK(bram18_blocks(36, 513) == 2);  // deeper than 512: 1024-deep, 18 wide
}

TEST_CASE("MVAU of 2 PEs x 4 SIMD, 4-bit operands, LUT multipliers: FINN's fit, our tree") {
    // mult per lane (2 ceil(8/6) - 1) 8 = 24, x 4 lanes = 96 per PE.
    // tree, stage 1 of 16 bits: 4 leaves x 8 + 2 adders x 9 + 1 adder x 10 = 60 per PE
    // (FINN's (W+A)(2Q-1) = 56).
    // acc: stage 2, 20 bits per PE.
    // LUT = 300 + 1.1 x 2 x (96 + 60 + 20) = 687.2 -> 687.
    const FpgaResources r =
        estimate_fpga(vector_unit(2, 4), memory(), stages(4, 16, 20), fpga(), 4, 4);
    CHECK(r.multiply.lut == 192);
    CHECK(r.stages[0].lut == 120);
    CHECK(r.stages[1].lut == 40);
    CHECK(r.control.lut == 335);  // 300 + 0.1 x 352, rounded down as FINN truncates
    // Buffers: 32 bits x 512 deep in BRAM18 = ceil(512/512) ceil(32/36) = 1 each.
    CHECK(r.ifmap.bram18 == 1);
    CHECK(r.filter.bram18 == 1);
    CHECK(r.ofmap.bram18 == 1);
    const FpgaCount t = r.total();
    CHECK(t.lut == 687);
    CHECK(t.dsp == 0);
    CHECK(t.bram18 == 3);
    // Flip-flops: 8 product bits x 4 lanes + 16 + 20 per PE, and the 4 x 4-bit input register.
    CHECK(t.ff == 2 * (4 * 8 + 16 + 20) + 16);
}

TEST_CASE("the only departure from FINN's unmodified LUT formula is the adder tree") {
    // FINN (Xilinx/finn, MVAU lut_estimation), W = A = 4, P = 2, Q = 4, acc = 20, LUT weights
    // off, no thresholds: 300 + 1.1 P (Q (2 ceil(8/6) - 1) 8 + 8 (2Q - 1) + 20) = 678.4 -> 678.
    const int P = 2, Q = 4, WA = 8, acc = 20;
    const double finn_tree = WA * (2 * Q - 1);
    const double finn = std::floor(300 + 1.1 * P * (Q * (2 * 2 - 1) * WA + finn_tree + acc));
    CHECK(finn == 678);
    const FpgaResources r =
        estimate_fpga(vector_unit(P, Q), memory(), stages(Q, 32, acc), fpga(), 4, 4);
    const double our_tree = r.stages[0].lut / P;  // 4 x 8 + 2 x 9 + 1 x 10 = 60
    CHECK(our_tree == 60);
    // FINN's formula with our tree term in place of its own gives our total.
    CHECK(r.total().lut == std::floor(300 + 1.1 * P * (Q * (2 * 2 - 1) * WA + our_tree + acc)));
    // The finn-mvau-16x32 preset's numbers (W = A = 8, Q = 32): FINN's tree 16 x 63 = 1008,
    // ours 32 x 16 + 16 x 17 + 8 x 18 + 4 x 19 + 2 x 20 + 1 x 21 = 1065.
    const FpgaResources big =
        estimate_fpga(vector_unit(16, 32), memory(), stages(32, 32, 32), fpga(), 8, 8);
    CHECK(big.stages[0].lut == 16 * 1065);
    CHECK(big.multiply.lut == 16 * 32 * (2 * 3 - 1) * 16);
}

TEST_CASE("a narrower stage 1 narrows the tree's top levels, a narrower accumulator its adder") {
    // Stage 1 of 9 bits: 4 x 8 + 2 x 9 + 1 x 9 = 59 per PE; stage 2 of 12 bits.
    const FpgaResources r =
        estimate_fpga(vector_unit(2, 4), memory(), stages(4, 9, 12), fpga(), 4, 4);
    CHECK(r.stages[0].lut == 118);
    CHECK(r.stages[1].lut == 24);
    CHECK(r.total().lut == 300 + static_cast<int>(1.1 * (192 + 118 + 24)));
}

TEST_CASE("thresholds cost (2^B - 1) acc ceil(depth/64) + (2^B - 1) acc LUTs per PE") {
    FpgaSpec f = fpga();
    f.thresholds = ThresholdSpec{2, 100};
    // 3 levels x 20 bits x ceil(100/64) = 120, comparators 3 x 20 = 60: 180 per PE.
    const FpgaResources r = estimate_fpga(vector_unit(2, 4), memory(), stages(4, 16, 20), f, 4, 4);
    CHECK(r.thresholds.lut == 360);
    CHECK(r.total().lut == 1083);  // 300 + 1.1 (192 + 120 + 40 + 360) = 1083.2
}

TEST_CASE("DSP multipliers: P Q ceil((W+A)/48) DSPs and no multiplier LUTs") {
    const FpgaResources r = estimate_fpga(vector_unit(2, 4), memory(), stages(4, 16, 20),
                                          fpga(MultiplierStyle::dsp), 4, 4);
    CHECK(r.multiply.dsp == 8);
    CHECK(r.multiply.lut == 0);
    CHECK(r.total().lut == 300 + static_cast<int>(1.1 * (120 + 40)));
}

TEST_CASE("weights in UltraRAM and in LUTRAM") {
    FpgaSpec f = fpga();
    MemorySpec m = memory();
    m.filter = BufferSpec{72, 9, false};  // 72 bits x 8192 deep
    f.weights = WeightMemory::uram;
    CHECK(estimate_fpga(vector_unit(2, 4), m, stages(4, 16, 20), f, 4, 4).filter.uram == 2);
    f.weights = WeightMemory::lutram;
    // 72 bits x ceil(8192 / 64) = 9216 LUTs.
    CHECK(estimate_fpga(vector_unit(2, 4), m, stages(4, 16, 20), f, 4, 4).filter.lut == 9216);
}

TEST_CASE(
    "a systolic array: a multiplier, a stage-1 adder and register per PE, later stages per "
    "column") {
    ArraySpec a;
    a.kind = ArrayKind::systolic;
    a.rows = 4, a.cols = 2, a.dataflow = Dataflow::ws;
    AccumulatorSpec acc = stages(4, 20, 32);
    acc.stages[0].reduction = Reduction::sequential;
    const FpgaResources r = estimate_fpga(a, memory(), acc, fpga(MultiplierStyle::dsp), 8, 8);
    CHECK(r.multiply.dsp == 8);
    CHECK(r.stages[0].lut == 8 * 20);
    CHECK(r.stages[0].ff == 8 * 20);
    CHECK(r.stages[1].lut == 2 * 32);
    CHECK(r.multiply.ff == 8 * 16);
    CHECK(r.total().lut == 300 + static_cast<int>(1.1 * (160 + 64)));
}

TEST_CASE("a design too big for its device is flagged, with by how much") {
    FpgaSpec f = fpga();
    f.device.capacity = {600, 200000, 100, 2, 0};
    const FpgaResources r = estimate_fpga(vector_unit(2, 4), memory(), stages(4, 16, 20), f, 4, 4);
    const auto j = fpga_report_json(r, f, 4, 4);
    CHECK(j["fits"] == false);
    CHECK(j["resources"]["lut"] == 687);
    CHECK(j["over"]["lut"] == 87);
    CHECK(j["over"]["bram18"] == 1);
    CHECK(j["over"]["ff"] == 0);
    CHECK(j["utilization"]["lut"].get<double>() == doctest::Approx(687.0 / 600));
    f.device.capacity = {1000, 200000, 100, 3, 0};
    CHECK(fpga_report_json(r, f, 4, 4)["fits"] == true);
}

TEST_CASE("FPGA energy: logic at the toggle rate over busy cycles, RAM per enabled cycle") {
    const FpgaSpec f = fpga();
    const FpgaResources r = estimate_fpga(vector_unit(2, 4), memory(), stages(4, 16, 20), f, 4, 4);
    LayerActions a;
    a.macs = 800;
    a.pe_count = 8;  // 100 busy cycles
    a.cycles = 200;
    a.ifmap_reads = 400, a.ifmap_writes = 40;  // 110 cycles of a 4-byte port
    a.dram_bytes = 100;
    const EnergyBreakdown e = fpga_energy(a, r, f, memory(), 20, 100);
    // Multiply: 192 LUTs x 0.3 + 64 FFs x 0.1, x 12.5 % x 100 cycles.
    CHECK(e.multiply == doctest::Approx((192 * 0.3 + 64 * 0.1) * 0.125 * 100));
    CHECK(e.stages[0] == doctest::Approx((120 * 0.3 + 32 * 0.1) * 0.125 * 100));
    CHECK(e.sram_ifmap == doctest::Approx(110 * 10.0));
    CHECK(e.sram_filter == 0);
    CHECK(e.dram == doctest::Approx(100 * 8 * 20));
    // 100 mW for 200 cycles at 100 MHz = 2 us: 200 nJ.
    CHECK(e.leakage == doctest::Approx(200000));
    REQUIRE(e.control.has_value());
    CHECK(*e.control == doctest::Approx((335 * 0.3 + 16 * 0.1) * 0.125 * 100));
    CHECK_FALSE(e.thresholds.has_value());  // no thresholds configured: null, not 0
}
