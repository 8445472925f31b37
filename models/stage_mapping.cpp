#include "stage_mapping.h"

namespace accsim {
namespace {

std::string n(int64_t v) {
    return std::to_string(v);
}

StageMappingProblem problem(std::size_t stage, std::string field, std::string what) {
    return StageMappingProblem{stage, std::move(field), std::move(what)};
}

}  // namespace

std::optional<StageMappingProblem> check_stage_mapping(const ArraySpec& a,
                                                       const AccumulatorSpec& acc) {
    const StageSpec& s1 = acc.stages.front();
    const bool single = acc.stages.size() == 1;
    switch (a.kind) {
        case ArrayKind::systolic:
            if (a.dataflow == Dataflow::os) {
                if (s1.reduction == Reduction::tree)
                    return problem(
                        0, "reduction",
                        "an os PE adds one product per cycle to the output it keeps: stage 1 is a "
                        "sequential register, not a tree");
                return std::nullopt;
            }
            if (s1.reduction == Reduction::tree)
                return problem(0, "reduction",
                               std::string("a ") + to_string(a.dataflow) +
                                   " array adds down each column one product per PE: "
                                   "stage 1 is a sequential chain, not a tree");
            if (!single && *s1.length != a.rows)
                return problem(0, "length",
                               std::string("a ") + to_string(a.dataflow) + " array of " +
                                   n(a.rows) + " rows adds " + n(a.rows) +
                                   " products down each column; stage 1's length " + n(*s1.length) +
                                   " contradicts it (use " + n(a.rows) +
                                   ", or one stage chained through the accumulator)");
            return std::nullopt;
        case ArrayKind::vector:
            if (single)
                return problem(
                    0, "",
                    "a vector unit adds its " + n(a.simd) +
                        " SIMD products in an adder tree before its accumulator: give two stages, "
                        "the tree (length " +
                        n(a.simd) + ", reduction tree) and the accumulator");
            if (!single && *s1.length != a.simd)
                return problem(0, "length",
                               "a vector unit's adder tree takes " + n(a.simd) +
                                   " products; stage 1's length " + n(*s1.length) +
                                   " contradicts it");
            if (!single && s1.reduction != Reduction::tree && a.simd > 1)
                return problem(
                    0, "reduction",
                    "a vector unit's stage 1 is its SIMD adder tree: reduction must be tree");
            return std::nullopt;
        case ArrayKind::tensor_core:
            if (single)
                return problem(
                    0, "",
                    "a tensor core adds " + n(a.k) +
                        " products inside each MMA before the fragment accumulator: give two "
                        "stages, the MMA (length " +
                        n(a.k) + ") and the accumulator");
            if (!single && *s1.length != a.k)
                return problem(0, "length",
                               "an MMA of k = " + n(a.k) + " adds " + n(a.k) +
                                   " products; stage 1's length " + n(*s1.length) +
                                   " contradicts it");
            return std::nullopt;
    }
    return std::nullopt;
}

std::string describe_stage_mapping(const ArraySpec& a, const AccumulatorSpec& acc) {
    std::string out;
    for (std::size_t j = 0; j < acc.stages.size(); ++j) {
        const StageSpec& s = acc.stages[j];
        std::string where;
        const bool first = j == 0, single = acc.stages.size() == 1;
        switch (a.kind) {
            case ArrayKind::systolic:
                if (a.dataflow == Dataflow::os)
                    where = first ? "the register in each PE, adding one product per cycle"
                                  : "a register at the array's edge";
                else if (first && single)
                    where = "the column chain of " + n(a.rows) +
                            " PEs, fed back through the accumulator buffer";
                else if (first)
                    where = "the column chain of " + n(a.rows) + " PEs";
                else if (j == 1)
                    where = "the accumulator buffer under the array";
                else
                    where = "a register after the accumulator buffer";
                break;
            case ArrayKind::vector:
                where = first    ? "each PE's SIMD adder tree (" + n(a.simd) + " products)"
                        : j == 1 ? "each PE's accumulator"
                                 : "a register after the PE";
                break;
            case ArrayKind::tensor_core:
                where = first    ? "inside each MMA (" + n(a.k) + " products)"
                        : j == 1 ? "the fragment accumulator"
                                 : "a register after the fragment";
                break;
        }
        out += "stage " + n(static_cast<int64_t>(j + 1)) + " (" + n(s.bits) + "-bit " +
               to_string(s.overflow) + "): " + where + "\n";
    }
    return out;
}

}  // namespace accsim
