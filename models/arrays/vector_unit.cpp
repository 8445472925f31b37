// A FINN-style vector unit (the MVAU): `pe` output lanes, each multiplying `simd` inputs per
// cycle and adding them in an adder tree, then in its accumulator. folds = ceil(N/PE)
// output-channel folds; each takes ceil(K/SIMD) x M cycles; plus the pipeline depth (multiplier,
// log2(SIMD) tree levels, accumulator) once per layer. Stage 1 is each PE's SIMD adder tree
// (length `simd`, reduction tree), stage 2 its accumulator.
#include <algorithm>
#include <cmath>

#include "models/array_kind.h"

namespace accsim {
namespace {

int ceil_log2(int64_t v) {
    int b = 0;
    while ((int64_t{1} << b) < v) ++b;
    return b;
}

class VectorUnit : public ArrayKindModel {
  public:
    void parse(const JsonCursor& a, ArraySpec& s) const override {
        a.allow_keys({"kind", "pe", "simd"});
        s.pe = positive_dimension(a.at("pe"));
        s.simd = positive_dimension(a.at("simd"));
    }

    nlohmann::ordered_json echo(const ArraySpec& s) const override {
        return {{"pe", s.pe}, {"simd", s.simd}};
    }

    std::optional<StageMappingProblem> check_stages(const ArraySpec& a,
                                                    const AccumulatorSpec& acc) const override {
        const StageSpec& s1 = acc.stages.front();
        if (acc.stages.size() == 1)
            return StageMappingProblem{
                0, "",
                "a vector unit adds its " + std::to_string(a.simd) +
                    " SIMD products in an adder tree before its accumulator: give two stages, "
                    "the tree (length " +
                    std::to_string(a.simd) + ", reduction tree) and the accumulator"};
        if (*s1.length != a.simd)
            return StageMappingProblem{0, "length",
                                       "a vector unit's adder tree takes " +
                                           std::to_string(a.simd) + " products; stage 1's length " +
                                           std::to_string(*s1.length) + " contradicts it"};
        if (s1.reduction != Reduction::tree && a.simd > 1)
            return StageMappingProblem{
                0, "reduction",
                "a vector unit's stage 1 is its SIMD adder tree: reduction must be tree"};
        return std::nullopt;
    }

    std::string stage_place(const ArraySpec& a, std::size_t j, std::size_t) const override {
        return j == 0   ? "each PE's SIMD adder tree (" + std::to_string(a.simd) + " products)"
               : j == 1 ? "each PE's accumulator"
                        : "a register after the PE";
    }

    int64_t fold_count(const ArraySpec& a, const LayerWork& w) const override {
        return w.groups * ceil_div_count(w.n, a.pe);
    }

    void schedule(const ArraySpec& a, const LayerWork& w, TimingConvention, int64_t,
                  FoldSchedule& s) const override {
        const int64_t nf = ceil_div_count(w.n, a.pe), sf = ceil_div_count(w.k, a.simd);
        for (int64_t g = 0; g < w.groups; ++g) {
            for (int64_t c = 0; c < nf; ++c) {
                Fold f;
                f.group = g;
                f.col_fold = c;
                f.rows_used = std::min(a.simd, w.k);
                f.cols_used = std::min(a.pe, w.n - c * a.pe);
                f.t = sf * w.m;
                f.compute_cycles = f.t;
                f.stream_cycles = f.t;
                f.macs = f.cols_used * w.k * w.m;
                // FINN keeps the weights on chip and reads PE x SIMD of them every cycle, as it
                // computes.
                f.ifmap_reads = w.k * w.m;
                f.filter_reads = f.cols_used * w.k;
                f.psum_writes = f.cols_used * sf * w.m;  // adder-tree results into the accumulators
                f.outputs_done = f.cols_used * w.m;
                f.ifmap_tile = g;
                f.ifmap_fraction = 1.0 / w.groups;
                f.filter_tile = g * nf + c;
                f.filter_fraction = static_cast<double>(f.cols_used) / w.n / w.groups;
                s.folds.push_back(f);
            }
        }
        s.pe_count = a.pe * a.simd;
        s.extra_cycles = 2 + ceil_log2(a.simd);  // multiply, tree levels, accumulate
    }

    // Lanes x SIMD slots that carry a product, over the fold's cycles (a last, short SIMD chunk
    // leaves lanes idle).
    double mapped_share(const ArraySpec& a, const Fold& f) const override {
        return static_cast<double>(f.macs) / (static_cast<double>(f.t) * a.pe * a.simd);
    }

    void completed_tiles(const ArraySpec& a, const LayerWork& w, const Fold& f,
                         std::vector<OutputTile>& out) const override {
        const int64_t n0 = f.col_fold * a.pe;
        out.push_back({f.group, 0, w.m, n0, n0 + f.cols_used});
    }

    bool has_fpga_model() const override { return true; }
    FpgaResources fpga_resources(const ArraySpec& a, const MemorySpec& m,
                                 const AccumulatorSpec& acc, const FpgaSpec& f, int x_bits,
                                 int w_bits) const override {
        FpgaResources r;
        const double P = static_cast<double>(a.pe), Q = static_cast<double>(a.simd);
        const int wa = x_bits + w_bits;
        const FpgaCount mult = fpga_multiplier(f, wa);
        r.multiply.lut = P * Q * mult.lut;
        r.multiply.dsp = P * Q * mult.dsp;
        r.multiply.ff = P * Q * wa;  // product registers
        for (std::size_t j = 0; j < acc.stages.size(); ++j) {
            const int bits = acc.stages[j].bits;
            FpgaCount s;
            s.lut = P * (j == 0 ? fpga_tree_luts(a.simd, wa, bits) : bits);
            s.ff = P * bits;
            r.stages.push_back(s);
        }
        r.thresholds = fpga_thresholds(f, acc.stages.back().bits, P);
        r.control.lut = fpga_control_luts(r);
        r.control.ff = Q * x_bits;  // the input register every PE reads
        add_fpga_buffers(m, f, r);
        return r;
    }

    bool has_cycle_model() const override { return true; }
    std::unique_ptr<FoldSim> fold_sim(const ArraySpec& a, const AccumulatorSpec& acc,
                                      TimingConvention, const LayerWork& w, const Fold& f,
                                      const OperandSource* values, CycleBank* bank) const override {
        return make_vector_fold(a, acc, w, f, values, bank);
    }
};

}  // namespace

const ArrayKindModel& vector_unit_model() {
    static const VectorUnit model;
    return model;
}

}  // namespace accsim
