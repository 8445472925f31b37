#pragma once
// The MAC array of a hardware configuration (configs/README.md). Parsed and validated once
// by the config loader; modules take this struct, never JSON.
#include <cstdint>
#include "datapath/enum_names.h"

namespace accsim {

enum class ArrayKind { systolic, vector, tensor_core };
enum class Dataflow { os, ws, is };

struct ArraySpec {
    ArrayKind kind = ArrayKind::systolic;
    // systolic
    int64_t rows = 0, cols = 0;
    Dataflow dataflow = Dataflow::ws;
    // vector (FINN MVAU): pe output lanes x simd inputs per cycle
    int64_t pe = 0, simd = 0;
    // tensor_core: one m x n x k MMA per unit every mma_cycles
    int64_t m = 0, n = 0, k = 0, units = 0, mma_cycles = 0;
};

inline constexpr EnumName<ArrayKind> k_array_kind_names[] = {
    {ArrayKind::systolic, "systolic"},
    {ArrayKind::vector, "vector"},
    {ArrayKind::tensor_core, "tensor_core"}};
inline const char* to_string(ArrayKind v) {
    return name_of(k_array_kind_names, v);
}
inline constexpr EnumName<Dataflow> k_dataflow_names[] = {
    {Dataflow::os, "os"}, {Dataflow::ws, "ws"}, {Dataflow::is, "is"}};
inline const char* to_string(Dataflow v) {
    return name_of(k_dataflow_names, v);
}

}  // namespace accsim
