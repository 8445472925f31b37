// GPU tensor cores: `units` units, each issuing one m x n x k MMA every `mma_cycles`.
// ceil(M/m) x ceil(N/n) output tiles, each a K loop of ceil(K/k) MMAs; the units take one tile
// each, so a fold is a wave of up to `units` tiles side by side. Stage 1 sits inside each MMA
// (length k), stage 2 is the fragment accumulator. No FPGA or cycle-accurate model.
#include <algorithm>
#include <cmath>

#include "models/array_kind.h"

namespace accsim {
namespace {

class TensorCores : public ArrayKindModel {
  public:
    void parse(const JsonCursor& a, ArraySpec& s) const override {
        a.allow_keys({"kind", "m", "n", "k", "units", "mma_cycles"});
        s.m = positive_dimension(a.at("m"));
        s.n = positive_dimension(a.at("n"));
        s.k = positive_dimension(a.at("k"));
        s.units = positive_dimension(a.at("units"));
        s.mma_cycles = positive_dimension(a.at("mma_cycles"));
    }

    nlohmann::ordered_json echo(const ArraySpec& s) const override {
        return {
            {"m", s.m}, {"n", s.n}, {"k", s.k}, {"units", s.units}, {"mma_cycles", s.mma_cycles}};
    }

    std::optional<StageMappingProblem> check_stages(const ArraySpec& a,
                                                    const AccumulatorSpec& acc) const override {
        const StageSpec& s1 = acc.stages.front();
        if (acc.stages.size() == 1)
            return StageMappingProblem{
                0, "",
                "a tensor core adds " + std::to_string(a.k) +
                    " products inside each MMA before the fragment accumulator: give two "
                    "stages, the MMA (length " +
                    std::to_string(a.k) + ") and the accumulator"};
        if (*s1.length != a.k)
            return StageMappingProblem{0, "length",
                                       "an MMA of k = " + std::to_string(a.k) + " adds " +
                                           std::to_string(a.k) + " products; stage 1's length " +
                                           std::to_string(*s1.length) + " contradicts it"};
        return std::nullopt;
    }

    std::string stage_place(const ArraySpec& a, std::size_t j, std::size_t) const override {
        return j == 0   ? "inside each MMA (" + std::to_string(a.k) + " products)"
               : j == 1 ? "the fragment accumulator"
                        : "a register after the fragment";
    }

    int64_t fold_count(const ArraySpec& a, const LayerWork& w) const override {
        return w.groups *
               ceil_div_count(ceil_div_count(w.m, a.m) * ceil_div_count(w.n, a.n), a.units);
    }

    void schedule(const ArraySpec& a, const LayerWork& w, TimingConvention, int64_t,
                  FoldSchedule& s) const override {
        // Output tiles of m x n, each a K loop of MMAs of k; the `units` units take one tile each,
        // so a fold is a wave of up to `units` tiles running side by side.
        const int64_t tm = ceil_div_count(w.m, a.m), tn = ceil_div_count(w.n, a.n),
                      tk = ceil_div_count(w.k, a.k);
        const int64_t tiles = tm * tn;
        for (int64_t g = 0; g < w.groups; ++g) {
            for (int64_t first = 0; first < tiles; first += a.units) {
                Fold f;
                f.group = g;
                f.col_fold = first / a.units;
                f.t = tk;
                f.compute_cycles = tk * a.mma_cycles;
                f.stream_cycles = f.compute_cycles;
                // The wave's tiles share rows of the input and columns of the weights: each unique
                // row tile and column tile is read once per wave.
                std::vector<int64_t> row_tiles, col_tiles;
                for (int64_t tile = first; tile < std::min(tiles, first + a.units); ++tile) {
                    const int64_t rows = std::min(a.m, w.m - (tile / tn) * a.m);
                    const int64_t cols = std::min(a.n, w.n - (tile % tn) * a.n);
                    if (std::find(row_tiles.begin(), row_tiles.end(), tile / tn) ==
                        row_tiles.end()) {
                        row_tiles.push_back(tile / tn);
                        f.ifmap_reads += rows * w.k;
                    }
                    if (std::find(col_tiles.begin(), col_tiles.end(), tile % tn) ==
                        col_tiles.end()) {
                        col_tiles.push_back(tile % tn);
                        f.filter_reads += cols * w.k;
                    }
                    f.rows_used += rows;  // summed over the wave's tiles
                    f.cols_used = std::max(f.cols_used, cols);
                    f.macs += rows * cols * w.k;
                    f.psum_writes += rows * cols * tk;
                    f.outputs_done += rows * cols;
                }
                // Every wave reads its own rows of the input and columns of the weights.
                f.ifmap_tile = g * tiles + first;
                f.filter_tile = g * tiles + first;
                f.ifmap_fraction =
                    std::min(1.0, static_cast<double>(f.ifmap_reads) / (w.m * w.k)) / w.groups;
                f.filter_fraction =
                    std::min(1.0, static_cast<double>(f.filter_reads) / (w.n * w.k)) / w.groups;
                s.folds.push_back(f);
            }
        }
        s.pe_count = static_cast<double>(a.units * a.m * a.n * a.k) / a.mma_cycles;
    }

    double mapped_share(const ArraySpec& a, const Fold& f) const override {
        return static_cast<double>(f.macs) / (f.t * a.units * a.m * a.n * a.k);
    }

    void completed_tiles(const ArraySpec& a, const LayerWork& w, const Fold& f,
                         std::vector<OutputTile>& out) const override {
        const int64_t tn = (w.n + a.n - 1) / a.n, tiles = ((w.m + a.m - 1) / a.m) * tn;
        for (int64_t t = f.col_fold * a.units; t < std::min(tiles, (f.col_fold + 1) * a.units);
             ++t) {
            const int64_t m0 = (t / tn) * a.m, n0 = (t % tn) * a.n;
            out.push_back({f.group, m0, std::min(w.m, m0 + a.m), n0, std::min(w.n, n0 + a.n)});
        }
    }
};

}  // namespace

const ArrayKindModel& tensor_core_model() {
    static const TensorCores model;
    return model;
}

}  // namespace accsim
