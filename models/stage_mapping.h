#pragma once
// Where each accumulator stage physically sits on each kind of array, and whether a config's
// stages can sit there at all:
//   systolic ws / is: the reduction dimension runs down the `rows` PEs of a column, each adding
//     one product to the partial sum passing through (a sequential chain). Two or more stages:
//     stage 1 is that chain (its length must be `rows`), stage 2 the accumulator buffer under
//     the array that adds the columns' fold results, stages 3.. further registers after it.
//     One stage: the column's top takes the accumulated value back in, so one register chains
//     through every fold.
//   systolic os: each PE holds its output and adds one product per cycle for all of K: stage 1
//     is the PE's register (with a length, the PE hands its partial sum to stage 2 at the
//     array's edge every `length` products); any later stages sit at the edge.
//   vector (FINN MVAU): each PE adds `simd` products per cycle in an adder tree (stage 1: a tree
//     of length `simd`), then its accumulator (stage 2) adds the tree's outputs.
//   tensor_core: one MMA adds `k` products per output (stage 1: length `k`), then the fragment
//     accumulator (stage 2) adds the MMAs' results.
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
