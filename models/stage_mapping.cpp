#include "stage_mapping.h"

#include "models/array_kind.h"

namespace accsim {

std::optional<StageMappingProblem> check_stage_mapping(const ArraySpec& a,
                                                       const AccumulatorSpec& acc) {
    if (acc.has_float() && acc.first_float() == 0) {
        // Float from the first stage: a fused step is the MMA itself (its k products, or two
        // halves of k/2 on Ampere and Ada), so there is no separate MMA stage to check.
        const StageSpec& s1 = acc.stages.front();
        if (a.kind == ArrayKind::tensor_core && s1.group != a.k && 2 * s1.group != a.k)
            return StageMappingProblem{0, "group",
                                       "a tensor core fuses the k = " + std::to_string(a.k) +
                                           " products of an MMA per step (or two halves of " +
                                           std::to_string(a.k / 2) + "); stage 1's group " +
                                           std::to_string(s1.group) + " contradicts it"};
        return std::nullopt;
    }
    return array_kind_model(a.kind).check_stages(a, acc);
}

std::string describe_stage_mapping(const ArraySpec& a, const AccumulatorSpec& acc) {
    const ArrayKindModel& kind = array_kind_model(a.kind);
    std::string out;
    for (std::size_t j = 0; j < acc.stages.size(); ++j) {
        const StageSpec& s = acc.stages[j];
        if (s.is_float()) {
            out += "stage " + std::to_string(j + 1) + " (float e" +
                   std::to_string(s.exponent_bits) + "m" + std::to_string(s.mantissa_bits) + ", " +
                   std::to_string(s.group) + " terms per step)\n";
            continue;
        }
        out += "stage " + std::to_string(j + 1) + " (" + std::to_string(s.bits) + "-bit " +
               to_string(s.overflow) + "): " + kind.stage_place(a, j, acc.stages.size()) + "\n";
    }
    return out;
}

}  // namespace accsim
