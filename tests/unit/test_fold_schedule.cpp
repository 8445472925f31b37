// Cycle counts of the fold schedules, derived by hand for small layers, and the memory model's
// traffic and stalls.
#include <doctest/doctest.h>

#include "models/fold_schedule.h"
#include "models/memory_model.h"

using namespace accsim;

namespace {

ArraySpec systolic(int64_t r, int64_t c, Dataflow d) {
    ArraySpec a;
    a.kind = ArrayKind::systolic;
    a.rows = r, a.cols = c, a.dataflow = d;
    return a;
}

LayerWork gemm(int64_t m, int64_t n, int64_t k, int wb = 8) {
    LayerWork w;
    w.name = "l";
    w.m = m, w.n = n, w.k = k;
    w.w_bits = wb;
    w.ifmap_elements = m * k;
    w.filter_elements = n * k;
    return w;
}

MemorySpec memory(double dram_bw, double sram_bw = 1e9, double kb = 1024) {
    MemorySpec m;
    m.ifmap = m.filter = m.ofmap = BufferSpec{kb, sram_bw, true};
    m.dram = DramSpec{dram_bw, 10};
    return m;
}

}  // namespace

TEST_CASE("ws on a 4x4 array: M=6 positions, N=5 channels, K=7 takes 4 folds of 16 cycles") {
    // ws maps K down the rows and N across the columns: Sr = 7 -> row folds of 4 and 3,
    // Sc = 5 -> column folds of 4 and 1; the M = 6 positions stream (T = 6). A fold: R = 4
    // cycles to load the weights, then 6 skewed input vectors cross R rows and C columns:
    // 2R + C + T - 2 = 8 + 4 + 6 - 2 = 16. Four folds: 64.
    const FoldSchedule s =
        schedule_folds(systolic(4, 4, Dataflow::ws), gemm(6, 5, 7), TimingConvention::native);
    REQUIRE(s.folds.size() == 4);
    CHECK(s.compute_cycles() == 64);
    CHECK(s.folds[0].rows_used == 4);
    CHECK(s.folds[1].rows_used == 3);  // column fold outer, row fold inner
    CHECK(s.folds[2].cols_used == 1);
    CHECK(s.folds[1].outputs_done ==
          4 * 6);  // the last K fold of column fold 0 finishes its outputs
    CHECK(s.folds[0].outputs_done == 0);
    // mapping efficiency: (16 + 12 + 4 + 3) / 4 folds / 16 PEs
    CHECK(s.mapping_efficiency == doctest::Approx((16.0 + 12 + 4 + 3) / 64));
    // SCALE-Sim's code agrees on ws folds but counts the layer one cycle short.
    CHECK(schedule_folds(systolic(4, 4, Dataflow::ws), gemm(6, 5, 7), TimingConvention::scalesim)
              .compute_cycles() == 63);
}

TEST_CASE(
    "os on a 4x4 array: M=6, N=5, K=7: 4 folds of 17 cycles; SCALE-Sim's code: 13, minus one") {
    // os maps M down the rows and N across: Sr = 6 (folds 4, 2), Sc = 5 (folds 4, 1); K = 7
    // products stream into every PE. The last PE (3, 3) takes its last product at cycle
    // (T - 1) + (R - 1) + (C - 1) = 12, i.e. after 13 cycles = T + R + C - 2; draining the R rows
    // of results takes R more: 2R + C + T - 2 = 17 (the SCALE-Sim paper). SCALE-Sim v2's code has
    // no drain: 13 per fold, and its layer total is one short: 4 x 13 - 1 = 51.
    CHECK(schedule_folds(systolic(4, 4, Dataflow::os), gemm(6, 5, 7), TimingConvention::native)
              .compute_cycles() == 68);
    CHECK(schedule_folds(systolic(4, 4, Dataflow::os), gemm(6, 5, 7), TimingConvention::scalesim)
              .compute_cycles() == 51);
}

TEST_CASE("is on a 4x4 array: M=6, N=5, K=7: 4 folds of 15 cycles") {
    // is maps K down the rows and M across: Sr = 7 (folds 4, 3), Sc = 6 (folds 4, 2); the N = 5
    // weight vectors stream: 2R + C + T - 2 = 8 + 4 + 5 - 2 = 15; four folds: 60.
    const FoldSchedule s =
        schedule_folds(systolic(4, 4, Dataflow::is), gemm(6, 5, 7), TimingConvention::native);
    CHECK(s.folds.size() == 4);
    CHECK(s.compute_cycles() == 60);
    CHECK(s.folds[0].ifmap_stationary);
}

TEST_CASE("a layer of several groups runs them one after another") {
    LayerWork w = gemm(6, 5, 7);
    w.groups = 3;
    CHECK(schedule_folds(systolic(4, 4, Dataflow::ws), w, TimingConvention::native)
              .compute_cycles() == 3 * 64);
}

TEST_CASE("vector unit PE=2 x SIMD=4: M=6, N=5, K=7 takes 3 folds of 12 cycles plus the pipeline") {
    // N = 5 channels on 2 PEs: 3 neuron folds; each takes ceil(K / SIMD) = 2 cycles per input
    // vector, for M = 6 vectors: 12. The pipeline (multiply, log2(4) = 2 tree levels, accumulate)
    // adds 4 once: 3 x 12 + 4 = 40.
    ArraySpec a;
    a.kind = ArrayKind::vector;
    a.pe = 2, a.simd = 4;
    const FoldSchedule s = schedule_folds(a, gemm(6, 5, 7), TimingConvention::native);
    CHECK(s.folds.size() == 3);
    CHECK(s.compute_cycles() == 40);
    CHECK(s.folds[2].cols_used == 1);
}

TEST_CASE("tensor core 2x2x2 MMAs on 2 units: M=3, N=3, K=5 takes 2 waves of 12 cycles") {
    // Output tiles of 2 x 2: ceil(3/2) x ceil(3/2) = 4 tiles, two at a time on 2 units: 2 waves.
    // Each tile needs ceil(5/2) = 3 MMAs of 4 cycles: 12 per wave, 24 in all.
    ArraySpec a;
    a.kind = ArrayKind::tensor_core;
    a.m = a.n = a.k = 2, a.units = 2, a.mma_cycles = 4;
    const FoldSchedule s = schedule_folds(a, gemm(3, 3, 5), TimingConvention::native);
    CHECK(s.folds.size() == 2);
    CHECK(s.compute_cycles() == 24);
    CHECK(s.folds[0].macs + s.folds[1].macs == 3 * 3 * 5);
}

TEST_CASE("a DRAM-bound layer stalls, and the stalls shrink as the bandwidth grows") {
    // Buffers too small to hold the operands: every fold reloads its tiles from DRAM.
    const ArraySpec a = systolic(8, 8, Dataflow::ws);
    const LayerWork w = gemm(64, 64, 256);
    const FoldSchedule s = schedule_folds(a, w, TimingConvention::native);
    int64_t previous = -1;
    for (double bw : {1.0, 2.0, 4.0, 8.0, 16.0, 1024.0}) {
        MemoryModel mm(memory(bw, 1e9, 2), true, true);
        mm.begin_layer(w, ElementBytes{1, 1, 4, 4});
        int64_t stall = 0, before = 0;
        for (const Fold& f : s.folds) {
            stall += mm.fold(f, before).stall;
            before = f.compute_cycles;
        }
        stall += mm.end_layer().stall;
        CAPTURE(bw);
        if (previous >= 0) CHECK(stall < previous);
        previous = stall;
    }
    CHECK(previous > 0);  // even at 1024 B/cycle the first load and the last write-back stall
}

TEST_CASE("4-bit weights take half the bytes of 8-bit ones, on chip and from DRAM") {
    const ArraySpec a = systolic(4, 4, Dataflow::ws);
    double dram[2] = {0, 0}, sram[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
        const int bits = i == 0 ? 8 : 4;
        const LayerWork w = gemm(16, 16, 16, bits);
        MemoryModel mm(memory(8), true, true);
        mm.begin_layer(w, ElementBytes{1, bits / 8.0, 4, 4});
        for (const Fold& f : schedule_folds(a, w, TimingConvention::native).folds) {
            const FoldCost c = mm.fold(f, 0);
            dram[i] += c.traffic.dram_filter;
            sram[i] += c.traffic.sram_filter;
        }
    }
    CHECK(dram[0] == 256);  // 16 x 16 weights, resident: loaded once
    CHECK(dram[1] == 128);
    CHECK(sram[1] == sram[0] / 2);
}

TEST_CASE("a slow buffer stretches the fold: SRAM stall cycles") {
    // ws, 4 rows: each streaming cycle reads 4 one-byte inputs; at 2 bytes per cycle the T = 10
    // streaming cycles need 20: 10 stall cycles per fold.
    const ArraySpec a = systolic(4, 4, Dataflow::ws);
    const LayerWork w = gemm(10, 4, 4);
    MemorySpec m = memory(1e9);
    m.ifmap.bandwidth = 2;
    MemoryModel mm(m, false, true);
    mm.begin_layer(w, ElementBytes{1, 1, 1, 1});
    const FoldSchedule s = schedule_folds(a, w, TimingConvention::native);
    REQUIRE(s.folds.size() == 1);
    CHECK(mm.fold(s.folds[0], 0).traffic.sram_stall == 10);
}

TEST_CASE("a tensor-core wave reads each input row tile and weight column tile once") {
    // 2 units on 2x2 tiles of a 4x2 output (M = 4, N = 2): tiles (0,0) and (1,0) share the
    // weight columns; a wave reads 4 input rows and 2 weight columns of K = 8.
    ArraySpec a;
    a.kind = ArrayKind::tensor_core;
    a.m = a.n = a.k = 2, a.units = 2, a.mma_cycles = 1;
    const FoldSchedule s = schedule_folds(a, gemm(4, 2, 8), TimingConvention::native);
    REQUIRE(s.folds.size() == 1);
    CHECK(s.folds[0].ifmap_reads == 4 * 8);
    CHECK(s.folds[0].filter_reads == 2 * 8);
    CHECK(s.pe_count == 16);  // 2 units x 2x2x2 MACs per cycle
    a.mma_cycles = 3;
    CHECK(schedule_folds(a, gemm(4, 2, 8), TimingConvention::native).pe_count ==
          doctest::Approx(16.0 / 3));
}

TEST_CASE(
    "a vector unit reads its weights while it computes: no stall at exactly the bandwidth it "
    "needs") {
    ArraySpec a;
    a.kind = ArrayKind::vector;
    a.pe = 16, a.simd = 32;
    const LayerWork w = gemm(64, 16, 512);
    MemorySpec m = memory(1e9);
    m.filter.bandwidth = 16 * 32;  // PE x SIMD one-byte weights per cycle
    MemoryModel mm(m, false, true);
    mm.begin_layer(w, ElementBytes{1, 1, 4, 4});
    for (const Fold& f : schedule_folds(a, w, TimingConvention::native).folds)
        CHECK(mm.fold(f, 0).stall == 0);
    // A last, short SIMD chunk leaves lanes idle: K = 40 on SIMD 32 uses 40 of 64 lane-cycles.
    CHECK(schedule_folds(a, gemm(64, 16, 40), TimingConvention::native).mapping_efficiency ==
          doctest::Approx(40.0 / 64));
}

TEST_CASE("an os PE with a stage-1 length hands on ceil(K / length) partial sums per output") {
    const ArraySpec a = systolic(4, 4, Dataflow::os);
    CHECK(schedule_folds(a, gemm(4, 4, 10), TimingConvention::native, 3).folds[0].psum_writes ==
          16 * 4);
    CHECK(schedule_folds(a, gemm(4, 4, 10), TimingConvention::native).folds[0].psum_writes == 16);
}

TEST_CASE("partial sums that do not fit the ofmap buffer go to DRAM and come back") {
    // ws, 4x4, K = 8: two K folds per column fold; the first fold's 4 x 100 partial sums of
    // 4 bytes (1600) wait for the second. A 1 KiB double-buffered ofmap (512 B per tile) cannot
    // hold them: 1600 bytes out and 1600 back; a 4 KiB one can.
    const ArraySpec a = systolic(4, 4, Dataflow::ws);
    const LayerWork w = gemm(100, 4, 8);
    double spilled[2];
    for (int i = 0; i < 2; ++i) {
        MemorySpec m = memory(1e9);
        m.ofmap.size_kb = i == 0 ? 1 : 4;
        MemoryModel mm(m, true, true);
        mm.begin_layer(w, ElementBytes{1, 1, 4, 4});
        double ofmap = 0;
        for (const Fold& f : schedule_folds(a, w, TimingConvention::native).folds)
            ofmap += mm.fold(f, 0).traffic.dram_ofmap;
        ofmap += mm.end_layer().traffic.dram_ofmap;
        spilled[i] = ofmap;
    }
    CHECK(spilled[1] == 100 * 4 * 4);            // the outputs, written once
    CHECK(spilled[0] == spilled[1] + 2 * 1600);  // plus the partial sums out and back
}
