#include "lane_screen.h"

#include "simd.h"

#include <initializer_list>

#include "kernel_choice.h"

namespace accsim {

namespace {

constexpr int k_lanes = 16;

uint32_t screen_portable(const LaneScreen& s, const int64_t* S, const int64_t* A, int64_t* R,
                         int64_t* U, int64_t* dot) {
    uint32_t fits = 0;
    bool covered = s.seen;
    for (int l = 0; l < k_lanes; ++l) {
        const int64_t up = (A[l] + S[l] + 1) >> 1, down = (A[l] - S[l] + 1) >> 1;
        // Room above and below the register, exact in unsigned 64-bit.
        const uint64_t r = static_cast<uint64_t>(R[l]);
        const bool reg = s.safe || (static_cast<uint64_t>(up) <= static_cast<uint64_t>(s.hi) - r &&
                                    static_cast<uint64_t>(down) <= r - static_cast<uint64_t>(s.lo));
        fits |= static_cast<uint32_t>(reg) << l;
        covered = covered && U[l] - down >= s.width_lo && U[l] + up <= s.width_hi;
    }
    if (fits != 0xffff || !covered) return fits;
    for (int l = 0; l < k_lanes; ++l) {
        R[l] += S[l];
        U[l] += S[l];
        dot[l] += S[l];
    }
    return fits | k_all_lanes_taken;
}

// ---- AVX2: four vectors of 4 lanes; unsigned compares by flipping the sign bit ---------------

__attribute__((target("avx2"))) uint32_t screen_avx2(const LaneScreen& s, const int64_t* S,
                                                     const int64_t* A, int64_t* R, int64_t* U,
                                                     int64_t* dot) {
    const __m256i one = _mm256_set1_epi64x(1), sign = _mm256_set1_epi64x(INT64_MIN);
    const __m256i lo = _mm256_set1_epi64x(s.lo), hi = _mm256_set1_epi64x(s.hi);
    // w_lo - 1 < U - down and U + up < w_hi + 1 (the width bounds are far from the int64 ends).
    const __m256i wlo = _mm256_set1_epi64x(s.width_lo - 1),
                  whi = _mm256_set1_epi64x(s.width_hi + 1);
    uint32_t fits = 0;
    bool covered = s.seen;
    for (int v = 0; v < k_lanes / 4; ++v) {
        const __m256i sv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(S + 4 * v));
        const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(A + 4 * v));
        const __m256i rv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(R + 4 * v));
        const __m256i uv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(U + 4 * v));
        // A >= |S|: both sums are >= 0, so a logical shift halves them.
        const __m256i up = _mm256_srli_epi64(_mm256_add_epi64(_mm256_add_epi64(av, sv), one), 1);
        const __m256i down = _mm256_srli_epi64(_mm256_add_epi64(_mm256_sub_epi64(av, sv), one), 1);
        // up <= hi - r and down <= r - lo, unsigned: not (x > y) with both sign-flipped.
        const __m256i room_up = _mm256_xor_si256(_mm256_sub_epi64(hi, rv), sign);
        const __m256i room_down = _mm256_xor_si256(_mm256_sub_epi64(rv, lo), sign);
        const __m256i over =
            _mm256_or_si256(_mm256_cmpgt_epi64(_mm256_xor_si256(up, sign), room_up),
                            _mm256_cmpgt_epi64(_mm256_xor_si256(down, sign), room_down));
        const uint32_t reg =
            s.safe ? 0xfu
                   : (~static_cast<uint32_t>(_mm256_movemask_pd(_mm256_castsi256_pd(over))) & 0xfu);
        fits |= reg << (4 * v);
        const __m256i inside = _mm256_and_si256(_mm256_cmpgt_epi64(_mm256_sub_epi64(uv, down), wlo),
                                                _mm256_cmpgt_epi64(whi, _mm256_add_epi64(uv, up)));
        covered = covered && _mm256_movemask_pd(_mm256_castsi256_pd(inside)) == 0xf;
    }
    if (fits != 0xffff || !covered) return fits;
    for (int v = 0; v < k_lanes / 4; ++v) {
        const __m256i sv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(S + 4 * v));
        for (int64_t* p : {R, U, dot}) {
            __m256i* at = reinterpret_cast<__m256i*>(p + 4 * v);
            _mm256_storeu_si256(at, _mm256_add_epi64(_mm256_loadu_si256(at), sv));
        }
    }
    return fits | k_all_lanes_taken;
}

// ---- AVX-512: two vectors of 8 lanes, compares into masks -------------------------------------

__attribute__((target("avx512f"))) uint32_t screen_avx512(const LaneScreen& s, const int64_t* S,
                                                          const int64_t* A, int64_t* R, int64_t* U,
                                                          int64_t* dot) {
    const __m512i one = _mm512_set1_epi64(1);
    const __m512i lo = _mm512_set1_epi64(s.lo), hi = _mm512_set1_epi64(s.hi);
    const __m512i wlo = _mm512_set1_epi64(s.width_lo), whi = _mm512_set1_epi64(s.width_hi);
    uint32_t fits = 0;
    bool covered = s.seen;
    __m512i sv[2];
    for (int v = 0; v < 2; ++v) {
        sv[v] = _mm512_loadu_si512(S + 8 * v);
        const __m512i av = _mm512_loadu_si512(A + 8 * v);
        const __m512i rv = _mm512_loadu_si512(R + 8 * v);
        const __m512i uv = _mm512_loadu_si512(U + 8 * v);
        const __m512i up = _mm512_srai_epi64(_mm512_add_epi64(_mm512_add_epi64(av, sv[v]), one), 1);
        const __m512i down =
            _mm512_srai_epi64(_mm512_add_epi64(_mm512_sub_epi64(av, sv[v]), one), 1);
        const __mmask8 reg =
            s.safe ? __mmask8(0xff)
                   : __mmask8(_mm512_cmple_epu64_mask(up, _mm512_sub_epi64(hi, rv)) &
                              _mm512_cmple_epu64_mask(down, _mm512_sub_epi64(rv, lo)));
        fits |= static_cast<uint32_t>(reg) << (8 * v);
        const __mmask8 inside = _mm512_cmpge_epi64_mask(_mm512_sub_epi64(uv, down), wlo) &
                                _mm512_cmple_epi64_mask(_mm512_add_epi64(uv, up), whi);
        covered = covered && inside == 0xff;
    }
    if (fits != 0xffff || !covered) return fits;
    for (int v = 0; v < 2; ++v)
        for (int64_t* p : {R, U, dot})
            _mm512_storeu_si512(p + 8 * v, _mm512_add_epi64(_mm512_loadu_si512(p + 8 * v), sv[v]));
    return fits | k_all_lanes_taken;
}

uint32_t covered_portable(const LaneScreen& s, const int64_t* S, const int64_t* A,
                          const int64_t* U) {
    uint32_t mask = 0;
    for (int l = 0; l < k_lanes; ++l) {
        const int64_t up = (A[l] + S[l] + 1) >> 1, down = (A[l] - S[l] + 1) >> 1;
        mask |= static_cast<uint32_t>(U[l] - down >= s.width_lo && U[l] + up <= s.width_hi) << l;
    }
    return mask;
}

__attribute__((target("avx2"))) uint32_t covered_avx2(const LaneScreen& s, const int64_t* S,
                                                      const int64_t* A, const int64_t* U) {
    const __m256i one = _mm256_set1_epi64x(1);
    const __m256i wlo = _mm256_set1_epi64x(s.width_lo - 1),
                  whi = _mm256_set1_epi64x(s.width_hi + 1);
    uint32_t mask = 0;
    for (int v = 0; v < k_lanes / 4; ++v) {
        const __m256i sv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(S + 4 * v));
        const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(A + 4 * v));
        const __m256i uv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(U + 4 * v));
        const __m256i up = _mm256_srli_epi64(_mm256_add_epi64(_mm256_add_epi64(av, sv), one), 1);
        const __m256i down = _mm256_srli_epi64(_mm256_add_epi64(_mm256_sub_epi64(av, sv), one), 1);
        const __m256i inside = _mm256_and_si256(_mm256_cmpgt_epi64(_mm256_sub_epi64(uv, down), wlo),
                                                _mm256_cmpgt_epi64(whi, _mm256_add_epi64(uv, up)));
        mask |= static_cast<uint32_t>(_mm256_movemask_pd(_mm256_castsi256_pd(inside))) << (4 * v);
    }
    return mask;
}

__attribute__((target("avx512f"))) uint32_t covered_avx512(const LaneScreen& s, const int64_t* S,
                                                           const int64_t* A, const int64_t* U) {
    const __m512i one = _mm512_set1_epi64(1);
    const __m512i wlo = _mm512_set1_epi64(s.width_lo), whi = _mm512_set1_epi64(s.width_hi);
    uint32_t mask = 0;
    for (int v = 0; v < 2; ++v) {
        const __m512i sv = _mm512_loadu_si512(S + 8 * v);
        const __m512i av = _mm512_loadu_si512(A + 8 * v);
        const __m512i uv = _mm512_loadu_si512(U + 8 * v);
        const __m512i up = _mm512_srai_epi64(_mm512_add_epi64(_mm512_add_epi64(av, sv), one), 1);
        const __m512i down = _mm512_srai_epi64(_mm512_add_epi64(_mm512_sub_epi64(av, sv), one), 1);
        const __mmask8 inside = _mm512_cmpge_epi64_mask(_mm512_sub_epi64(uv, down), wlo) &
                                _mm512_cmple_epi64_mask(_mm512_add_epi64(uv, up), whi);
        mask |= static_cast<uint32_t>(inside) << (8 * v);
    }
    return mask;
}

}  // namespace

uint32_t covered_lanes(const LaneScreen& s, const int64_t* S, const int64_t* A, const int64_t* U) {
    if (!s.seen) return 0;
    switch (kernel_choice()) {
        case Kernel::avx512:
            return covered_avx512(s, S, A, U);
        case Kernel::avx2:
            return covered_avx2(s, S, A, U);
        case Kernel::portable:
            break;
    }
    return covered_portable(s, S, A, U);
}

uint32_t screen_lanes(const LaneScreen& s, const int64_t* S, const int64_t* A, int64_t* R,
                      int64_t* U, int64_t* dot) {
    switch (kernel_choice()) {
        case Kernel::avx512:
            return screen_avx512(s, S, A, R, U, dot);
        case Kernel::avx2:
            return screen_avx2(s, S, A, R, U, dot);
        case Kernel::portable:
            break;
    }
    return screen_portable(s, S, A, R, U, dot);
}

}  // namespace accsim
