#pragma once
// The x86 SIMD intrinsics, for the files that hold AVX2 and AVX-512 kernels:
//
//     #include "simd.h"  // instead of <immintrin.h>
//
// GCC 12's AVX-512 headers build their "undefined" vectors from themselves, which it then
// reports as (maybe) uninitialized wherever they are inlined (GCC bug 105593): not ours, so
// those two warnings are off in the files that include this.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
