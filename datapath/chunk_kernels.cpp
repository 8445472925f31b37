#include "chunk_kernels.h"

#include <cstdlib>

namespace accsim {

void chunk_sums_portable(const ChunkSumsJob& j) {
    for (int64_t r = 0; r < j.rows; ++r) {
        const int32_t* x = j.x + r * j.k;
        for (int64_t c = 0; c < j.cols; ++c) {
            const int32_t* q = j.q + c * j.k;
            int64_t* s = j.s + (r * j.cols + c) * j.chunks;
            int64_t* a = j.a + (r * j.cols + c) * j.chunks;
            for (int64_t t = 0; t < j.chunks; ++t) {
                int64_t sum = 0, mag = 0;
                for (int64_t i = j.chunk_begin[t]; i < j.chunk_begin[t + 1]; ++i) {
                    const int64_t p = int64_t{x[i]} * q[i];
                    sum += p;
                    mag += p < 0 ? -p : p;
                }
                s[t] = sum;
                a[t] = mag;
            }
        }
    }
}

}  // namespace accsim
