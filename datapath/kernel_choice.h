#pragma once
// Which SIMD kernels the fast replay runs on this CPU, decided once at run time:
//
//     switch (kernel_choice()) { case Kernel::avx512: ...; case Kernel::avx2: ...; default: ... }
//
// The best the CPU has (AVX-512 with VNNI, else AVX2, else portable C++), unless
// ACCSIM_KERNEL=portable|avx2 asks for a slower one (tests compare them; benchmarks measure
// them). Every kernel gives the same results.

namespace accsim {

enum class Kernel { portable, avx2, avx512 };

Kernel kernel_choice();

// "avx512-vnni", "avx2" or "portable".
const char* packed_kernel_name();

}  // namespace accsim
