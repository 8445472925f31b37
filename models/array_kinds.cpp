// The registry of array kinds: each ArrayKind and its model (models/arrays/). A new kind adds
// its row here.
#include <stdexcept>

#include "models/array_kind.h"

namespace accsim {

const ArrayKindModel& systolic_array_model();  // arrays/systolic.cpp
const ArrayKindModel& vector_unit_model();     // arrays/vector_unit.cpp
const ArrayKindModel& tensor_core_model();     // arrays/tensor_core.cpp

const ArrayKindModel& array_kind_model(ArrayKind kind) {
    switch (kind) {
        case ArrayKind::systolic:
            return systolic_array_model();
        case ArrayKind::vector:
            return vector_unit_model();
        case ArrayKind::tensor_core:
            return tensor_core_model();
    }
    throw std::logic_error("array_kind_model: a kind missing from the registry");
}

FpgaResources ArrayKindModel::fpga_resources(const ArraySpec& a, const MemorySpec&,
                                             const AccumulatorSpec&, const FpgaSpec&, int,
                                             int) const {
    // The config loader refuses an FPGA target for such a kind (has_fpga_model).
    throw std::logic_error(std::string("no FPGA model of a ") + to_string(a.kind));
}

std::unique_ptr<FoldSim> ArrayKindModel::fold_sim(const ArraySpec& a, const AccumulatorSpec&,
                                                  TimingConvention, const LayerWork&, const Fold&,
                                                  const OperandSource*, CycleBank*) const {
    // A run refuses cycle mode for such a kind before it starts (has_cycle_model).
    throw std::logic_error(std::string("no cycle-accurate model of a ") + to_string(a.kind));
}

int64_t positive_dimension(const JsonCursor& c) {
    const nlohmann::json& v = c.value();
    if (v.is_number() && v.get<double>() <= 0)
        c.fail("expected a positive integer, got " + brief(v));
    return c.as_int(1, k_max_array_dimension);
}

}  // namespace accsim
