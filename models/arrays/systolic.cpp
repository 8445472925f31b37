// A systolic array of rows x cols PEs (SCALE-Sim's mapping; configs/README.md): output-,
// weight- or input-stationary, with M positions, N channels and K products per output:
//   os: Sr = M, Sc = N, T = K   each PE keeps one output and adds K products
//   ws: Sr = K, Sc = N, T = M   weights stay; inputs stream in; partial sums run down columns
//   is: Sr = K, Sc = M, T = N   inputs stay; weights stream in; partial sums run down columns
// folds = ceil(Sr/R) x ceil(Sc/C), column folds outer, row folds inner. A fold takes
// 2R + C + T - 2 cycles (the SCALE-Sim paper): R to load the stationary operand (os: R to drain
// the outputs), then T operand vectors skewed over R rows and C columns. SCALE-Sim v2's code
// differs for os (T + R + C - 2, no drain) and counts each layer one cycle short: the
// `scalesim` convention reproduces both.
// Stages: ws / is: the reduction runs down the `rows` PEs of a column, each adding one product to
// the partial sum passing through (a sequential chain). Two or more stages: stage 1 is that chain
// (its length must be `rows`), stage 2 the accumulator buffer under the array that adds the
// columns' fold results, stages 3.. further registers after it. One stage: the column's top takes
// the accumulated value back in, so one register chains through every fold. os: each PE holds its
// output and adds one product per cycle for all of K: stage 1 is the PE's register (with a
// length, the PE hands its partial sum to stage 2 at the array's edge every `length` products);
// any later stages sit at the edge.
#include <algorithm>
#include <cmath>

#include "models/array_kind.h"

namespace accsim {
namespace {

class SystolicArray : public ArrayKindModel {
  public:
    void parse(const JsonCursor& a, ArraySpec& s) const override {
        a.allow_keys({"kind", "rows", "cols", "dataflow"});
        s.rows = positive_dimension(a.at("rows"));
        s.cols = positive_dimension(a.at("cols"));
        s.dataflow = a.at("dataflow").as_enum(k_dataflow_names);
    }

    nlohmann::ordered_json echo(const ArraySpec& s) const override {
        return {{"rows", s.rows}, {"cols", s.cols}, {"dataflow", to_string(s.dataflow)}};
    }

    std::optional<StageMappingProblem> check_stages(const ArraySpec& a,
                                                    const AccumulatorSpec& acc) const override {
        const StageSpec& s1 = acc.stages.front();
        const bool single = acc.stages.size() == 1;
        if (a.dataflow == Dataflow::os) {
            if (s1.reduction == Reduction::tree)
                return StageMappingProblem{
                    0, "reduction",
                    "an os PE adds one product per cycle to the output it keeps: stage 1 is a "
                    "sequential register, not a tree"};
            return std::nullopt;
        }
        if (s1.reduction == Reduction::tree)
            return StageMappingProblem{0, "reduction",
                                       std::string("a ") + to_string(a.dataflow) +
                                           " array adds down each column one product per PE: "
                                           "stage 1 is a sequential chain, not a tree"};
        if (!single && *s1.length != a.rows)
            return StageMappingProblem{
                0, "length",
                std::string("a ") + to_string(a.dataflow) + " array of " + std::to_string(a.rows) +
                    " rows adds " + std::to_string(a.rows) +
                    " products down each column; stage 1's length " + std::to_string(*s1.length) +
                    " contradicts it (use " + std::to_string(a.rows) +
                    ", or one stage chained through the accumulator)"};
        return std::nullopt;
    }

    std::string stage_place(const ArraySpec& a, std::size_t j, std::size_t stages) const override {
        const bool first = j == 0, single = stages == 1;
        if (a.dataflow == Dataflow::os)
            return first ? "the register in each PE, adding one product per cycle"
                         : "a register at the array's edge";
        if (first && single)
            return "the column chain of " + std::to_string(a.rows) +
                   " PEs, fed back through the accumulator buffer";
        if (first) return "the column chain of " + std::to_string(a.rows) + " PEs";
        if (j == 1) return "the accumulator buffer under the array";
        return "a register after the accumulator buffer";
    }

    int64_t fold_count(const ArraySpec& a, const LayerWork& w) const override {
        const int64_t sr = a.dataflow == Dataflow::os ? w.m : w.k;
        const int64_t sc = a.dataflow == Dataflow::is ? w.m : w.n;
        return w.groups * ceil_div_count(sr, a.rows) * ceil_div_count(sc, a.cols);
    }

    void schedule(const ArraySpec& a, const LayerWork& w, TimingConvention convention,
                  int64_t stage1_length, FoldSchedule& s) const override {
        const int64_t R = a.rows, C = a.cols;
        int64_t sr = 0, sc = 0, t = 0;
        switch (a.dataflow) {
            case Dataflow::os:
                sr = w.m, sc = w.n, t = w.k;
                break;
            case Dataflow::ws:
                sr = w.k, sc = w.n, t = w.m;
                break;
            case Dataflow::is:
                sr = w.k, sc = w.m, t = w.n;
                break;
        }
        const int64_t row_folds = ceil_div_count(sr, R), col_folds = ceil_div_count(sc, C);
        for (int64_t g = 0; g < w.groups; ++g) {
            for (int64_t c = 0; c < col_folds; ++c) {
                for (int64_t r = 0; r < row_folds; ++r) {
                    Fold f;
                    f.group = g;
                    f.row_fold = r;
                    f.col_fold = c;
                    f.rows_used = std::min(R, sr - r * R);
                    f.cols_used = std::min(C, sc - c * C);
                    f.t = t;
                    const bool os = a.dataflow == Dataflow::os;
                    f.compute_cycles = os && convention == TimingConvention::scalesim
                                           ? t + R + C - 2
                                           : 2 * R + C + t - 2;
                    f.preload_cycles = os ? 0 : R;
                    f.stream_cycles = t;
                    f.macs = f.rows_used * f.cols_used * t;
                    const int64_t used = f.rows_used, cols = f.cols_used;
                    switch (a.dataflow) {
                        case Dataflow::os:
                            // rows: output positions, cols: channels; K streamed from both sides.
                            f.ifmap_reads = used * t;
                            f.filter_reads = cols * t;
                            // With a stage-1 length, each PE hands on ceil(K / length) partial
                            // sums.
                            f.psum_writes =
                                used * cols *
                                ceil_div_count(
                                    t, stage1_length > 0 && stage1_length < t ? stage1_length : t);
                            f.outputs_done = used * cols;
                            f.ifmap_tile = g * row_folds + r;
                            f.ifmap_fraction = static_cast<double>(used) / w.m / w.groups;
                            f.filter_tile = g * col_folds + c;
                            f.filter_fraction = static_cast<double>(cols) / w.n / w.groups;
                            break;
                        case Dataflow::ws:
                            // rows: a K slice, cols: channels; the M positions stream.
                            f.filter_stationary = true;
                            f.filter_reads = used * cols;
                            f.ifmap_reads = used * t;
                            f.psum_writes = cols * t;
                            f.outputs_done = r + 1 == row_folds ? cols * t : 0;
                            f.ifmap_tile = g * row_folds + r;
                            f.ifmap_fraction = static_cast<double>(used) / w.k / w.groups;
                            f.filter_tile = (g * col_folds + c) * row_folds + r;
                            f.filter_fraction =
                                static_cast<double>(used * cols) / (w.k * w.n) / w.groups;
                            break;
                        case Dataflow::is:
                            // rows: a K slice, cols: positions; the N channels stream.
                            f.ifmap_stationary = true;
                            f.ifmap_reads = used * cols;
                            f.filter_reads = used * t;
                            f.psum_writes = cols * t;
                            f.outputs_done = r + 1 == row_folds ? cols * t : 0;
                            f.ifmap_tile = (g * col_folds + c) * row_folds + r;
                            f.ifmap_fraction =
                                static_cast<double>(used * cols) / (w.k * w.m) / w.groups;
                            f.filter_tile = g * row_folds + r;
                            f.filter_fraction = static_cast<double>(used) / w.k / w.groups;
                            break;
                    }
                    s.folds.push_back(f);
                }
            }
        }
        s.pe_count = R * C;
        if (convention == TimingConvention::scalesim) s.extra_cycles = -1;
    }

    double mapped_share(const ArraySpec& a, const Fold& f) const override {
        return static_cast<double>(f.rows_used * f.cols_used) / (a.rows * a.cols);
    }

    void completed_tiles(const ArraySpec& a, const LayerWork& w, const Fold& f,
                         std::vector<OutputTile>& out) const override {
        const int64_t r0 = f.row_fold * a.rows, c0 = f.col_fold * a.cols;
        switch (a.dataflow) {
            case Dataflow::os:
                out.push_back({f.group, r0, r0 + f.rows_used, c0, c0 + f.cols_used});
                break;
            case Dataflow::ws:
                out.push_back({f.group, 0, w.m, c0, c0 + f.cols_used});
                break;
            case Dataflow::is:
                out.push_back({f.group, c0, c0 + f.cols_used, 0, w.n});
                break;
        }
    }

    bool has_fpga_model() const override { return true; }
    FpgaResources fpga_resources(const ArraySpec& a, const MemorySpec& m,
                                 const AccumulatorSpec& acc, const FpgaSpec& f, int x_bits,
                                 int w_bits) const override {
        FpgaResources r;
        const double pes = static_cast<double>(a.rows * a.cols), cols = static_cast<double>(a.cols);
        const int wa = x_bits + w_bits;
        const FpgaCount mult = fpga_multiplier(f, wa);
        r.multiply.lut = pes * mult.lut;
        r.multiply.dsp = pes * mult.dsp;
        r.multiply.ff = pes * wa;  // the operands each PE holds and passes on
        for (std::size_t j = 0; j < acc.stages.size(); ++j) {
            const double bits = acc.stages[j].bits, units = j == 0 ? pes : cols;
            FpgaCount s;
            s.lut = units * bits;
            s.ff = units * bits;
            r.stages.push_back(s);
        }
        r.thresholds = fpga_thresholds(f, acc.stages.back().bits, cols);
        r.control.lut = fpga_control_luts(r);
        add_fpga_buffers(m, f, r);
        return r;
    }

    bool has_cycle_model() const override { return true; }
    std::unique_ptr<FoldSim> fold_sim(const ArraySpec& a, const AccumulatorSpec& acc,
                                      TimingConvention convention, const LayerWork& w,
                                      const Fold& f, const OperandSource* values,
                                      CycleBank* bank) const override {
        if (a.dataflow == Dataflow::os)
            return make_output_stationary_fold(a, acc, convention, w, f, values, bank);
        return make_column_fold(a, acc, w, f, values, bank);
    }

    int64_t waveform_rows(const ArraySpec& a) const override { return a.rows; }
};

}  // namespace

const ArrayKindModel& systolic_array_model() {
    static const SystolicArray model;
    return model;
}

}  // namespace accsim
