#pragma once
// The arithmetic core of the fast replay: for a block of outputs, the exact sum of every chunk
// of products and a bound on the sum of their magnitudes. A portable kernel and, where the CPU
// has them, AVX-512 VNNI kernels for 8-bit operands; all give the same sums (the bound may
// differ, never below the true sum of |p|).
#include <cstdint>

namespace accsim {

struct ChunkSumsJob {
    const int32_t* x;  // rows x k
    const int32_t* q;  // cols x k
    int64_t rows, cols, k;
    const int64_t* chunk_begin;  // chunks + 1 boundaries, 0 .. k
    int64_t chunks;
    // Outputs, [(row * cols + col) * chunks + chunk].
    int64_t* s;  // exact sum of x q over the chunk
    int64_t* a;  // >= sum |x q| over the chunk
};

// Plain C++: any operand widths (up to 16 bits), any CPU.
void chunk_sums_portable(const ChunkSumsJob& job);

}  // namespace accsim
