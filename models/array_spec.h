#pragma once
// The MAC array of a hardware configuration (configs/README.md). Parsed and validated once
// by the config loader; modules take this struct, never JSON.
#include <cstdint>

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

inline const char* to_string(ArrayKind k) {
    return k == ArrayKind::systolic ? "systolic"
           : k == ArrayKind::vector ? "vector"
                                    : "tensor_core";
}
inline const char* to_string(Dataflow d) {
    return d == Dataflow::os ? "os" : d == Dataflow::ws ? "ws" : "is";
}

}  // namespace accsim
