#pragma once
// Where each accumulator stage physically sits on an array, and whether a config's stages can
// sit there at all: each array kind says (models/arrays/, ArrayKindModel::check_stages and
// stage_place; their files describe the placement).
#include <optional>
#include <string>

#include "datapath/accumulator_spec.h"
#include "models/array_spec.h"

namespace accsim {

struct StageMappingProblem {
    std::size_t stage = 0;  // 0-based stage index
    std::string field;      // "length", "reduction" or "" (the stage list)
    std::string what;
};

// nullopt when the stages fit the array.
std::optional<StageMappingProblem> check_stage_mapping(const ArraySpec& array,
                                                       const AccumulatorSpec& acc);

// One line per stage: where it sits ("stage 1 (24-bit, wrap): the column chain of 32 PEs").
std::string describe_stage_mapping(const ArraySpec& array, const AccumulatorSpec& acc);

}  // namespace accsim
