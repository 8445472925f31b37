#include "stage_mapping.h"

#include "models/array_kind.h"

namespace accsim {

std::optional<StageMappingProblem> check_stage_mapping(const ArraySpec& a,
                                                       const AccumulatorSpec& acc) {
    return array_kind_model(a.kind).check_stages(a, acc);
}

std::string describe_stage_mapping(const ArraySpec& a, const AccumulatorSpec& acc) {
    const ArrayKindModel& kind = array_kind_model(a.kind);
    std::string out;
    for (std::size_t j = 0; j < acc.stages.size(); ++j) {
        const StageSpec& s = acc.stages[j];
        out += "stage " + std::to_string(j + 1) + " (" + std::to_string(s.bits) + "-bit " +
               to_string(s.overflow) + "): " + kind.stage_place(a, j, acc.stages.size()) + "\n";
    }
    return out;
}

}  // namespace accsim
