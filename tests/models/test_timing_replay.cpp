// The plain-C++ timing replay (models/timing_replay.h, what sweeps use) equals the SystemC
// accelerator in transaction-level mode: every cycle count and byte, layer by layer, for each
// kind of array, with memory small enough to stall and spill. One simulation per test case
// (SystemC elaborates once per process).
#include <doctest/doctest.h>

#include "models/accelerator.h"
#include "models/timing_replay.h"

using namespace accsim;

namespace {

std::vector<LayerWork> layers() {
    // A conv, a depthwise conv, a long-K linear and a batched matmul, as lowered shapes.
    std::vector<LayerWork> out;
    auto add = [&](const char* name, int64_t groups, int64_t m, int64_t n, int64_t k, int64_t ifm,
                   int64_t filt) {
        LayerWork w;
        w.name = name;
        w.groups = groups, w.m = m, w.n = n, w.k = k;
        w.ifmap_elements = ifm, w.filter_elements = filt;
        out.push_back(w);
    };
    add("conv", 1, 28 * 28, 64, 3 * 3 * 32, 30 * 30 * 32, 64 * 288);
    add("dw", 64, 14 * 14, 1, 9, 16 * 16 * 64, 64 * 9);
    add("fc", 1, 4, 1000, 2304, 4 * 2304, 1000 * 2304);
    add("bmm", 4, 53, 53, 32, 4 * 53 * 32 * 2, 0);
    return out;
}

MemorySpec small_memory() {
    MemorySpec m;
    m.ifmap = BufferSpec{8, 16, true};
    m.filter = BufferSpec{4, 16, false};
    m.ofmap = BufferSpec{2, 8, true};
    m.dram = DramSpec{6, 40};
    return m;
}

AccumulatorSpec two_stages() {
    AccumulatorSpec acc;
    StageSpec s1, s2;
    s1.bits = 20;
    s1.length = 32;
    s2.bits = 32;
    acc.stages = {s1, s2};
    return acc;
}

void same_timing(const ArraySpec& array, const AccumulatorSpec& acc, TimingConvention conv,
                 bool dram_stalls) {
    const MemorySpec memory = small_memory();
    std::vector<LayerJob> jobs;
    std::vector<TimedLayer> timed;
    for (const LayerWork& w : layers()) {
        LayerJob j;
        j.work = w;
        j.bytes = ElementBytes{1, 1, 3, 4};
        jobs.push_back(j);
        timed.push_back(TimedLayer{w, j.bytes});
    }
    SimOptions o;
    o.convention = conv;
    o.dram_stalls = dram_stalls;
    const std::vector<LayerTiming> sc = simulate(array, memory, acc, jobs, o);
    const std::vector<LayerTiming> plain =
        replay_timing(array, memory, acc, timed, conv, dram_stalls, true);
    REQUIRE(sc.size() == plain.size());
    int64_t stalls = 0;
    for (std::size_t i = 0; i < sc.size(); ++i) {
        CAPTURE(i);
        CHECK(plain[i].total == sc[i].total);
        CHECK(plain[i].compute == sc[i].compute);
        CHECK(plain[i].stall == sc[i].stall);
        CHECK(plain[i].folds == sc[i].folds);
        CHECK(plain[i].pe_count == sc[i].pe_count);
        CHECK(plain[i].mapping_efficiency == sc[i].mapping_efficiency);
        CHECK(plain[i].scalesim_compute_util == sc[i].scalesim_compute_util);
        CHECK(plain[i].traffic.dram_ifmap == sc[i].traffic.dram_ifmap);
        CHECK(plain[i].traffic.dram_filter == sc[i].traffic.dram_filter);
        CHECK(plain[i].traffic.dram_ofmap == sc[i].traffic.dram_ofmap);
        CHECK(plain[i].traffic.sram_ifmap == sc[i].traffic.sram_ifmap);
        CHECK(plain[i].traffic.sram_filter == sc[i].traffic.sram_filter);
        CHECK(plain[i].traffic.sram_ofmap == sc[i].traffic.sram_ofmap);
        CHECK(plain[i].traffic.dram_stall == sc[i].traffic.dram_stall);
        CHECK(plain[i].traffic.sram_stall == sc[i].traffic.sram_stall);
        stalls += sc[i].stall;
    }
    CHECK(stalls > 0);  // the memory is small enough that stalls are compared too
}

ArraySpec systolic(Dataflow d) {
    ArraySpec a;
    a.rows = 8;
    a.cols = 16;
    a.dataflow = d;
    return a;
}

}  // namespace

TEST_CASE("timing replay equals SystemC: systolic ws, two stages") {
    same_timing(systolic(Dataflow::ws), two_stages(), TimingConvention::native, true);
}

TEST_CASE("timing replay equals SystemC: systolic os") {
    AccumulatorSpec one;
    one.stages = {StageSpec{}};
    one.stages[0].bits = 32;
    same_timing(systolic(Dataflow::os), one, TimingConvention::native, true);
}

TEST_CASE("timing replay equals SystemC: systolic is, SCALE-Sim conventions") {
    same_timing(systolic(Dataflow::is), two_stages(), TimingConvention::scalesim, true);
}

TEST_CASE("timing replay equals SystemC: vector unit") {
    ArraySpec a;
    a.kind = ArrayKind::vector;
    a.pe = 8;
    a.simd = 16;
    AccumulatorSpec acc = two_stages();
    acc.stages[0].length = 16;
    acc.stages[0].reduction = Reduction::tree;
    same_timing(a, acc, TimingConvention::native, true);
}

TEST_CASE("timing replay equals SystemC: tensor cores") {
    ArraySpec a;
    a.kind = ArrayKind::tensor_core;
    a.m = 16, a.n = 8, a.k = 32, a.units = 4, a.mma_cycles = 2;
    AccumulatorSpec acc = two_stages();
    acc.stages[0].length = 32;
    same_timing(a, acc, TimingConvention::native, true);
}
