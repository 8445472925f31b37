#include "fold_schedule.h"

#include "models/array_kind.h"

#include <algorithm>
#include <stdexcept>

namespace accsim {
int64_t fold_count(const ArraySpec& a, const LayerWork& w) {
    return array_kind_model(a.kind).fold_count(a, w);
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
    const ArrayKindModel& kind = array_kind_model(array.kind);
    kind.schedule(array, work, convention, stage1_length, s);
    // Mapping efficiency: the mean over folds of the share of MAC units a fold maps work onto.
    double mapped = 0;
    for (const Fold& f : s.folds) mapped += kind.mapped_share(array, f);
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
