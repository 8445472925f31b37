// ASIC/GPU energy: the action counts of small layers and their energy, each derived by hand
// from the formulas of models/energy_model.h; width scaling as the table says; the exact
// zero-product count against a brute-force one.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "models/energy_model.h"
#include "models/operand_activity.h"

using namespace accsim;

namespace {

AccumulatorSpec two_stages(int64_t length, int bits1, int bits2, Reduction r1) {
    AccumulatorSpec acc;
    StageSpec s1;
    s1.bits = bits1;
    s1.length = length;
    s1.reduction = r1;
    StageSpec s2;
    s2.bits = bits2;
    acc.stages = {s1, s2};
    return acc;
}

LayerWork gemm(int64_t m, int64_t n, int64_t k) {
    LayerWork w;
    w.m = m, w.n = n, w.k = k;
    return w;
}

EnergySpec table() {
    EnergySpec e;
    e.multiply = {0.2, 8, 8, WidthScaling::product};
    e.add = {0.03, 8, WidthScaling::linear};
    e.register_pj_per_bit = 0.01;
    e.sram.kib_pj_per_64b = {{1, 8}};  // 1 pJ per byte at any size
    e.sram.write_factor = 2;
    e.dram_pj_per_bit = 10;
    e.static_mw = 5;
    return e;
}

MemorySpec memory() {
    MemorySpec m;
    m.ifmap = m.filter = m.ofmap = BufferSpec{16, 8, true};
    m.dram = DramSpec{4, 10};
    return m;
}

LayerTiming timing(int64_t cycles) {
    LayerTiming t;
    t.total = cycles;
    t.pe_count = 4;
    t.traffic.sram_ifmap = 100;  // array reads
    t.traffic.dram_ifmap = 10;   // fills
    t.traffic.sram_filter = 30;
    t.traffic.dram_filter = 30;
    t.traffic.sram_ofmap = 24;  // partial sums written
    t.traffic.dram_ofmap = 24;  // write-back reads
    return t;
}

// Zero counts where every zero product has a zero input (and no weight is zero).
std::optional<ZeroProducts> zeros(int64_t n) {
    return ZeroProducts{n, n, 0};
}

}  // namespace

TEST_CASE("actions of a 2x3 layer with K=5, stage 1 of 2-product tiles, bias in stage 2") {
    // Per output: stage 1 adds all 5 products in tiles of 2, 2, 1 and passes 3 tile results on;
    // stage 2 adds those 3 and the bias. Six outputs.
    const LayerActions a = count_actions(
        gemm(2, 3, 5), two_stages(2, 12, 20, Reduction::sequential), true, timing(100), zeros(4));
    CHECK(a.macs == 30);
    REQUIRE(a.stages.size() == 2);
    CHECK(a.stages[0].inputs == 30);
    CHECK(a.stages[0].additions == 30);
    CHECK(a.stages[0].passed_on == 18);
    CHECK(a.stages[1].inputs == 18);
    CHECK(a.stages[1].additions == 24);
    CHECK(a.stages[1].passed_on == 0);
    CHECK(a.ifmap_reads == 100);
    CHECK(a.ifmap_writes == 10);
    CHECK(a.ofmap_writes == 24);
    CHECK(a.ofmap_reads == 24);
    CHECK(a.dram_bytes == 64);
}

TEST_CASE("a tree of n leaves has n - 1 adders per tile; no bias, no bias addition") {
    const LayerActions a = count_actions(gemm(1, 1, 5), two_stages(2, 12, 20, Reduction::tree),
                                         false, timing(1), std::nullopt);
    CHECK(a.stages[0].additions == 2);  // tiles (2, 2, 1): 1 + 1 + 0
    CHECK(a.stages[1].additions == 3);  // sequential over the 3 tile results
    CHECK_FALSE(a.zero_products.has_value());
}

TEST_CASE("energy of the 2x3 layer equals the formulas term by term") {
    EnergySpec e = table();
    e.zero_gating = {GatedOperand::either, 0.5, 0.25};
    const LayerActions a = count_actions(
        gemm(2, 3, 5), two_stages(2, 12, 20, Reduction::sequential), true, timing(100), zeros(4));
    const EnergyBreakdown b = asic_energy(a, e, memory(), 100);
    // 26 full multiplies at 0.2 pJ, 4 gated at half.
    CHECK(b.multiply == doctest::Approx(26 * 0.2 + 4 * 0.5 * 0.2));
    // Stage 1: 12-bit adds at 0.03 * 12/8 plus 12 register bits at 0.01; 4 of 30 gated at 1/4.
    const double add1 = 0.03 * 12 / 8 + 12 * 0.01;
    REQUIRE(b.stages.size() == 2);
    CHECK(b.stages[0] == doctest::Approx(26 * add1 + 4 * 0.25 * add1));
    // Stage 2: 24 additions of 20 bits; its words live in the ofmap buffer (priced there), and
    // the 18 tile results handed to it are that buffer's writes: no register bits, no transfer.
    CHECK(b.stages[1] == doctest::Approx(24 * (0.03 * 20 / 8)));
    CHECK(b.transfers == 0);
    // 1 pJ per byte read, 2 per byte written.
    CHECK(b.sram_ifmap == doctest::Approx(100 + 2 * 10));
    CHECK(b.sram_filter == doctest::Approx(30 + 2 * 30));
    CHECK(b.sram_ofmap == doctest::Approx(24 + 2 * 24));
    CHECK(b.dram == doctest::Approx(64 * 8 * 10));
    // 5 mW for 100 cycles at 100 MHz = 1 us: 5 nJ.
    CHECK(b.leakage == doctest::Approx(5000));
    CHECK(b.total() ==
          doctest::Approx(b.multiply + b.stages[0] + b.stages[1] + 120 + 90 + 72 + 5120 + 5000));
    CHECK(power_of_energy(b.total(), 100, 100) == doctest::Approx(b.total() / 1000.0));
}

TEST_CASE("a third stage is a register again: its bits and the hand-off into it are paid") {
    // K = 8: stage 1 tiles of 2 (4 per output), stage 2 tiles of 2 of those (2 per output),
    // stage 3 adds the 2 results. One output.
    AccumulatorSpec acc = two_stages(2, 12, 16, Reduction::sequential);
    acc.stages[1].length = 2;
    StageSpec s3;
    s3.bits = 24;
    acc.stages.push_back(s3);
    const LayerActions a = count_actions(gemm(1, 1, 8), acc, false, timing(10), zeros(0));
    REQUIRE(a.stages.size() == 3);
    CHECK(a.stages[1].in_buffer);
    CHECK_FALSE(a.stages[2].in_buffer);
    CHECK(a.stages[1].passed_on == 2);
    const EnergyBreakdown b = asic_energy(a, table(), memory(), 100);
    CHECK(b.stages[2] == doctest::Approx(2 * (0.03 * 24 / 8 + 24 * 0.01)));
    CHECK(b.transfers == doctest::Approx(2 * 16 * 0.01));  // into stage 3 only
}

TEST_CASE("zero gating looks at the operand the config names") {
    EnergySpec e = table();
    const LayerActions a =
        count_actions(gemm(2, 3, 5), two_stages(2, 12, 20, Reduction::sequential), true,
                      timing(100), ZeroProducts{10, 4, 7});
    e.zero_gating = {GatedOperand::input, 0, 1};
    CHECK(asic_energy(a, e, memory(), 100).multiply == doctest::Approx((30 - 4) * 0.2));
    e.zero_gating = {GatedOperand::weight, 0, 1};
    CHECK(asic_energy(a, e, memory(), 100).multiply == doctest::Approx((30 - 7) * 0.2));
    e.zero_gating = {GatedOperand::either, 0, 1};
    CHECK(asic_energy(a, e, memory(), 100).multiply == doctest::Approx((30 - 10) * 0.2));
}

TEST_CASE("without zero gating a zero product costs a full multiply") {
    const LayerActions a = count_actions(
        gemm(2, 3, 5), two_stages(2, 12, 20, Reduction::sequential), true, timing(100), zeros(30));
    const EnergyBreakdown b = asic_energy(a, table(), memory(), 100);
    CHECK(b.multiply == doctest::Approx(30 * 0.2));
}

TEST_CASE("widths scale energy as the table says") {
    const MultiplyEnergy product{0.2, 8, 8, WidthScaling::product};
    CHECK(product.at(8, 8) == doctest::Approx(0.2));
    CHECK(product.at(4, 8) == doctest::Approx(0.1));
    CHECK(product.at(32, 32) == doctest::Approx(3.2));  // Horowitz: 3.1 pJ
    const MultiplyEnergy quadratic{0.2, 8, 8, WidthScaling::quadratic};
    CHECK(quadratic.at(16, 8) == doctest::Approx(0.8));
    const MultiplyEnergy linear{1.28, 8, 8, WidthScaling::linear};
    CHECK(linear.at(4, 4) == doctest::Approx(0.64));
    const MultiplyEnergy constant{1.0, 8, 8, WidthScaling::constant};
    CHECK(constant.at(2, 16) == 1.0);
    const AddEnergy add{0.03, 8, WidthScaling::linear};
    CHECK(add.at(32) == doctest::Approx(0.12));  // Horowitz: 0.1 pJ
    CHECK(AddEnergy{0.03, 8, WidthScaling::quadratic}.at(16) == doctest::Approx(0.12));

    // A stage twice as wide costs exactly twice as much with linear adders and registers.
    const LayerActions narrow = count_actions(
        gemm(4, 4, 64), two_stages(16, 16, 32, Reduction::sequential), false, timing(10), zeros(0));
    const LayerActions wide = count_actions(
        gemm(4, 4, 64), two_stages(16, 32, 32, Reduction::sequential), false, timing(10), zeros(0));
    const double e16 = asic_energy(narrow, table(), memory(), 100).stages[0];
    const double e32 = asic_energy(wide, table(), memory(), 100).stages[0];
    CHECK(e32 == doctest::Approx(2 * e16));
}

TEST_CASE("SRAM energy follows Horowitz's points and interpolates them on logarithms") {
    SramEnergy s;
    s.kib_pj_per_64b = {{8, 10}, {32, 20}, {1024, 100}};
    CHECK(s.pj_per_byte(8) == doctest::Approx(10.0 / 8));
    CHECK(s.pj_per_byte(32) == doctest::Approx(20.0 / 8));
    CHECK(s.pj_per_byte(1024) == doctest::Approx(100.0 / 8));
    // Between 8 and 32 KiB the energy grows as sqrt(size): 16 KiB costs 10 sqrt 2.
    CHECK(s.pj_per_byte(16) == doctest::Approx(10 * std::sqrt(2.0) / 8));
    // Below the first point the first segment extends: 2 KiB costs 5 pJ.
    CHECK(s.pj_per_byte(2) == doctest::Approx(5.0 / 8));
    SramEnergy flat;
    flat.kib_pj_per_64b = {{1, 0}};
    CHECK(flat.pj_per_byte(4096) == 0);
}

namespace {

// Operands from two small matrices: x[g][m][k], q[g][n][k].
class Matrices : public OperandSource {
  public:
    Matrices(int64_t g, int64_t m, int64_t n, int64_t k, std::mt19937& rng)
        : m_m(m), m_n(n), m_k(k), m_x(g * m * k), m_q(g * n * k) {
        std::uniform_int_distribution<int> v(-3, 3);
        for (auto& e : m_x) e = v(rng) < 0 ? 0 : v(rng);  // many zeros
        for (auto& e : m_q) e = v(rng);
    }
    void x(int64_t g, int64_t m, int64_t k0, int64_t k1, int32_t* out) const override {
        for (int64_t k = k0; k < k1; ++k) out[k - k0] = m_x[(g * m_m + m) * m_k + k];
    }
    void q(int64_t g, int64_t n, int64_t k0, int64_t k1, int32_t* out) const override {
        for (int64_t k = k0; k < k1; ++k) out[k - k0] = m_q[(g * m_n + n) * m_k + k];
    }
    std::optional<int64_t> bias(int64_t, int64_t) const override { return std::nullopt; }

    ZeroProducts brute_force(int64_t groups) const {
        ZeroProducts z;
        for (int64_t g = 0; g < groups; ++g)
            for (int64_t m = 0; m < m_m; ++m)
                for (int64_t n = 0; n < m_n; ++n)
                    for (int64_t k = 0; k < m_k; ++k) {
                        const int32_t x = m_x[(g * m_m + m) * m_k + k];
                        const int32_t q = m_q[(g * m_n + n) * m_k + k];
                        z.either += x == 0 || q == 0;
                        z.input += x == 0;
                        z.weight += q == 0;
                    }
        return z;
    }

  private:
    int64_t m_m, m_n, m_k;
    std::vector<int32_t> m_x, m_q;
};

}  // namespace

TEST_CASE("zero products counted with bitmasks equal a brute-force count") {
    std::mt19937 rng(7);
    // K across 64-bit word boundaries: 1, 63, 64, 65, 130.
    for (int64_t k : {1, 63, 64, 65, 130}) {
        const int64_t groups = 2, m = 5, n = 3;
        Matrices mats(groups, m, n, k, rng);
        LayerWork w = gemm(m, n, k);
        w.groups = groups;
        CAPTURE(k);
        const ZeroProducts z = count_zero_products(w, mats);
        const ZeroProducts want = mats.brute_force(groups);
        CHECK(z.either == want.either);
        CHECK(z.input == want.input);
        CHECK(z.weight == want.weight);
    }
}
