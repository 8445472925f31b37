#include "kernel_choice.h"

#include <cstdlib>
#include <string>

namespace accsim {

namespace {

Kernel detect() {
    Kernel best = Kernel::portable;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) best = Kernel::avx2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vnni"))
        best = Kernel::avx512;
    if (const char* e = std::getenv("ACCSIM_KERNEL")) {
        const std::string want = e;
        if (want == "portable") best = Kernel::portable;
        if (want == "avx2" && best == Kernel::avx512) best = Kernel::avx2;
    }
    return best;
}

}  // namespace

Kernel kernel_choice() {
    static const Kernel k = detect();
    return k;
}

const char* packed_kernel_name() {
    switch (kernel_choice()) {
        case Kernel::avx512:
            return "avx512-vnni";
        case Kernel::avx2:
            return "avx2";
        case Kernel::portable:
            return "portable";
    }
    return "?";
}

}  // namespace accsim
