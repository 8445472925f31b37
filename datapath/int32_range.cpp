#include "int32_range.h"

#include <algorithm>

#include "kernel_choice.h"

namespace accsim {

namespace {

// The loop, inlined into one function per instruction set so that each vectorizes it.
__attribute__((always_inline)) inline std::pair<int32_t, int32_t> body(const int32_t* v,
                                                                       int64_t n) {
    int32_t lo = n > 0 ? v[0] : 0, hi = lo;
    for (int64_t i = 0; i < n; ++i) {
        lo = std::min(lo, v[i]);
        hi = std::max(hi, v[i]);
    }
    return {lo, hi};
}

__attribute__((target("avx512f,avx512vl,avx512bw"))) std::pair<int32_t, int32_t> range_avx512(
    const int32_t* v, int64_t n) {
    return body(v, n);
}

__attribute__((target("avx2"))) std::pair<int32_t, int32_t> range_avx2(const int32_t* v,
                                                                       int64_t n) {
    return body(v, n);
}

std::pair<int32_t, int32_t> range_portable(const int32_t* v, int64_t n) {
    return body(v, n);
}

}  // namespace

std::pair<int32_t, int32_t> int32_range(const int32_t* v, int64_t n) {
    switch (kernel_choice()) {
        case Kernel::avx512:
            return range_avx512(v, n);
        case Kernel::avx2:
            return range_avx2(v, n);
        case Kernel::portable:
            break;
    }
    return range_portable(v, n);
}

}  // namespace accsim
