#include "fold_schedule.h"

#include <algorithm>
#include <stdexcept>

namespace accsim {
namespace {

int64_t ceil_div(int64_t a, int64_t b) {
    return (a + b - 1) / b;
}

int ceil_log2(int64_t v) {
    int b = 0;
    while ((int64_t{1} << b) < v) ++b;
    return b;
}

void systolic(const ArraySpec& a, const LayerWork& w, TimingConvention conv, int64_t os_tile,
              FoldSchedule& s) {
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
    const int64_t row_folds = ceil_div(sr, R), col_folds = ceil_div(sc, C);
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
                f.compute_cycles =
                    os && conv == TimingConvention::scalesim ? t + R + C - 2 : 2 * R + C + t - 2;
                f.preload_cycles = os ? 0 : R;
                f.stream_cycles = t;
                f.macs = f.rows_used * f.cols_used * t;
                const int64_t used = f.rows_used, cols = f.cols_used;
                switch (a.dataflow) {
                    case Dataflow::os:
                        // rows: output positions, cols: channels; K streamed from both sides.
                        f.ifmap_reads = used * t;
                        f.filter_reads = cols * t;
                        // With a stage-1 length, each PE hands on ceil(K / length) partial sums.
                        f.psum_writes =
                            used * cols * ceil_div(t, os_tile > 0 && os_tile < t ? os_tile : t);
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
    if (conv == TimingConvention::scalesim) s.extra_cycles = -1;
}

void vector_unit(const ArraySpec& a, const LayerWork& w, FoldSchedule& s) {
    const int64_t nf = ceil_div(w.n, a.pe), sf = ceil_div(w.k, a.simd);
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

void tensor_core(const ArraySpec& a, const LayerWork& w, FoldSchedule& s) {
    // Output tiles of m x n, each a K loop of MMAs of k; the `units` units take one tile each,
    // so a fold is a wave of up to `units` tiles running side by side.
    const int64_t tm = ceil_div(w.m, a.m), tn = ceil_div(w.n, a.n), tk = ceil_div(w.k, a.k);
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
                if (std::find(row_tiles.begin(), row_tiles.end(), tile / tn) == row_tiles.end()) {
                    row_tiles.push_back(tile / tn);
                    f.ifmap_reads += rows * w.k;
                }
                if (std::find(col_tiles.begin(), col_tiles.end(), tile % tn) == col_tiles.end()) {
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

}  // namespace

int64_t fold_count(const ArraySpec& a, const LayerWork& w) {
    switch (a.kind) {
        case ArrayKind::systolic: {
            const int64_t sr = a.dataflow == Dataflow::os ? w.m : w.k;
            const int64_t sc = a.dataflow == Dataflow::is ? w.m : w.n;
            return w.groups * ceil_div(sr, a.rows) * ceil_div(sc, a.cols);
        }
        case ArrayKind::vector:
            return w.groups * ceil_div(w.n, a.pe);
        case ArrayKind::tensor_core:
            return w.groups * ceil_div(ceil_div(w.m, a.m) * ceil_div(w.n, a.n), a.units);
    }
    return 0;
}

int64_t FoldSchedule::compute_cycles() const {
    int64_t c = extra_cycles;
    for (const Fold& f : folds) c += f.compute_cycles;
    return c;
}

FoldSchedule schedule_folds(const ArraySpec& array, const LayerWork& work,
                            TimingConvention convention, int64_t stage1_length) {
    if (work.m <= 0 || work.n <= 0 || work.k <= 0 || work.groups <= 0)
        throw std::logic_error("schedule_folds: empty layer " + work.name);
    FoldSchedule s;
    switch (array.kind) {
        case ArrayKind::systolic:
            systolic(array, work, convention, stage1_length, s);
            break;
        case ArrayKind::vector:
            vector_unit(array, work, s);
            break;
        case ArrayKind::tensor_core:
            tensor_core(array, work, s);
            break;
    }
    // Mapping efficiency: the mean over folds of the share of MAC units a fold maps work onto.
    double mapped = 0;
    for (const Fold& f : s.folds) {
        switch (array.kind) {
            case ArrayKind::systolic:
                mapped +=
                    static_cast<double>(f.rows_used * f.cols_used) / (array.rows * array.cols);
                break;
            case ArrayKind::vector:
                // lanes x SIMD slots that carry a product, over the fold's cycles (a last, short
                // SIMD chunk leaves lanes idle)
                mapped += static_cast<double>(f.macs) /
                          (static_cast<double>(f.t) * array.pe * array.simd);
                break;
            case ArrayKind::tensor_core:
                mapped +=
                    static_cast<double>(f.macs) / (f.t * array.units * array.m * array.n * array.k);
                break;
        }
    }
    s.mapping_efficiency = s.folds.empty() ? 0 : mapped / s.folds.size();
    return s;
}

double scalesim_compute_util(const ArraySpec& a, const FoldSchedule& s) {
    double sum = 0;
    for (const Fold& f : s.folds) {
        const int64_t cycles = a.dataflow == Dataflow::os ? f.t + a.rows + a.cols - 2
                                                          : 2 * a.rows + 2 * a.cols + f.t - 3;
        sum += static_cast<double>(f.rows_used * f.cols_used * f.t) / (a.rows * a.cols * cycles);
    }
    return s.folds.empty() ? 0 : sum / s.folds.size();
}

}  // namespace accsim
