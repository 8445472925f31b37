#include "lane_replay.h"

#include "simd.h"

#include "kernel_choice.h"

namespace accsim {

namespace {

// ---- portable: plain loops over the lanes (the compiler's own vectors) --------------------

// The two products of pair p, lane l: x0 * q0 (first) and x1 * q1.
inline int32_t low(int32_t v) {
    return static_cast<int16_t>(v & 0xffff);
}
inline int32_t high(int32_t v) {
    return static_cast<int16_t>(static_cast<uint32_t>(v) >> 16);
}

// Wrapping registers need no per-step wrap: the register after step i is wrap(R + P_i), P_i the
// exact prefix of the chunk's products, and step i wraps exactly when the bucket
// floor((R + P_i + 2^(bits-1)) / 2^bits) changes. In 32-bit unsigned arithmetic (mod 2^32) the
// bucket's low 32 - bits bits still change whenever it does: one step moves it by less than
// 2^(32 - bits) (a product is below 2^25). So a step is an add, a shift and a compare, and the
// only dependence between steps is the add.
void wrap_portable(const int32_t* xp, const int32_t* wq, int64_t p0, int64_t p1, int bits,
                   int32_t* r, uint32_t* ev) {
    const uint32_t half = 1u << (bits - 1);
    uint32_t u[k_replay_lanes], bucket[k_replay_lanes], cnt[k_replay_lanes];
    for (int l = 0; l < k_replay_lanes; ++l) {
        u[l] = static_cast<uint32_t>(r[l]) + half;
        bucket[l] = u[l] >> bits;
        cnt[l] = 0;
    }
    auto step = [&](int l, int32_t product) {
        u[l] += static_cast<uint32_t>(product);
        const uint32_t b = u[l] >> bits;
        cnt[l] += b != bucket[l];
        bucket[l] = b;
    };
    for (int64_t p = p0; p < p1; ++p) {
        const int32_t* w = wq + p * k_replay_lanes;
        for (int l = 0; l < k_replay_lanes; ++l) step(l, low(xp[p]) * low(w[l]));
        for (int l = 0; l < k_replay_lanes; ++l) step(l, high(xp[p]) * high(w[l]));
    }
    const int shift = 32 - bits;
    for (int l = 0; l < k_replay_lanes; ++l) {
        r[l] = static_cast<int32_t>((u[l] - half) << shift) >> shift;
        ev[l] += cnt[l];
    }
}

// Saturating registers clamp at every step.
void saturate_portable(const int32_t* xp, const int32_t* wq, int64_t p0, int64_t p1, int bits,
                       int32_t* r, uint32_t* ev) {
    const int32_t lo = -(int32_t{1} << (bits - 1)),
                  hi = static_cast<int32_t>((1u << (bits - 1)) - 1);
    int32_t reg[k_replay_lanes];
    uint32_t cnt[k_replay_lanes];
    for (int l = 0; l < k_replay_lanes; ++l) {
        reg[l] = r[l];
        cnt[l] = 0;
    }
    auto step = [&](int l, int32_t product) {
        const int32_t v = reg[l] + product;
        const int32_t f = v < lo ? lo : v > hi ? hi : v;
        cnt[l] += f != v;
        reg[l] = f;
    };
    for (int64_t p = p0; p < p1; ++p) {
        const int32_t* w = wq + p * k_replay_lanes;
        for (int l = 0; l < k_replay_lanes; ++l) step(l, low(xp[p]) * low(w[l]));
        for (int l = 0; l < k_replay_lanes; ++l) step(l, high(xp[p]) * high(w[l]));
    }
    for (int l = 0; l < k_replay_lanes; ++l) {
        r[l] = reg[l];
        ev[l] += cnt[l];
    }
}

// ---- AVX2: two vectors of 8 lanes ------------------------------------------------------------

// One wrapping step of 8 registers (in the prefix form above); `same` counts the lanes without
// an event, as -1s.
__attribute__((target("avx2"), always_inline)) inline void wrap_step_avx2(
    __m256i& u, __m256i& bucket, __m256i& same, __m256i product, __m128i bits) {
    u = _mm256_add_epi32(u, product);
    const __m256i b = _mm256_srl_epi32(u, bits);
    same = _mm256_add_epi32(same, _mm256_cmpeq_epi32(b, bucket));
    bucket = b;
}

// One saturating step of 8 registers.
__attribute__((target("avx2"), always_inline)) inline void saturate_step_avx2(
    __m256i& reg, __m256i& same, __m256i product, __m256i lo, __m256i hi) {
    const __m256i v = _mm256_add_epi32(reg, product);
    const __m256i f = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
    same = _mm256_add_epi32(same, _mm256_cmpeq_epi32(f, v));
    reg = f;
}

template <bool Wrap>
__attribute__((target("avx2"))) void lanes_avx2(const int32_t* xp, const int32_t* wq, int64_t p0,
                                                int64_t p1, int bits, int32_t* r, uint32_t* ev) {
    const __m128i nbits = _mm_cvtsi32_si128(bits);
    const __m256i half = _mm256_set1_epi32(static_cast<int32_t>(1u << (bits - 1)));
    const __m256i lo = _mm256_set1_epi32(-(int32_t{1} << (bits - 1)));
    const __m256i hi = _mm256_set1_epi32(static_cast<int32_t>((1u << (bits - 1)) - 1));
    const __m256i low_half = _mm256_set1_epi32(0x0000ffff);
    __m256i r0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r));
    __m256i r1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r + 8));
    if (Wrap) {  // r: u = R + 2^(bits-1)
        r0 = _mm256_add_epi32(r0, half);
        r1 = _mm256_add_epi32(r1, half);
    }
    __m256i b0 = _mm256_srl_epi32(r0, nbits), b1 = _mm256_srl_epi32(r1, nbits);
    __m256i same0 = _mm256_setzero_si256(), same1 = same0;
    for (int64_t p = p0; p < p1; ++p) {
        const __m256i x = _mm256_set1_epi32(xp[p]);
        const __m256i x0 = _mm256_and_si256(x, low_half), x1 = _mm256_andnot_si256(low_half, x);
        const __m256i* w = reinterpret_cast<const __m256i*>(wq + p * k_replay_lanes);
        const __m256i w0 = _mm256_loadu_si256(w), w1 = _mm256_loadu_si256(w + 1);
        if (Wrap) {
            wrap_step_avx2(r0, b0, same0, _mm256_madd_epi16(x0, w0), nbits);
            wrap_step_avx2(r1, b1, same1, _mm256_madd_epi16(x0, w1), nbits);
            wrap_step_avx2(r0, b0, same0, _mm256_madd_epi16(x1, w0), nbits);
            wrap_step_avx2(r1, b1, same1, _mm256_madd_epi16(x1, w1), nbits);
        } else {
            saturate_step_avx2(r0, same0, _mm256_madd_epi16(x0, w0), lo, hi);
            saturate_step_avx2(r1, same1, _mm256_madd_epi16(x0, w1), lo, hi);
            saturate_step_avx2(r0, same0, _mm256_madd_epi16(x1, w0), lo, hi);
            saturate_step_avx2(r1, same1, _mm256_madd_epi16(x1, w1), lo, hi);
        }
    }
    if (Wrap) {  // back from u to the register: wrap(u - 2^(bits-1))
        const __m128i shift = _mm_cvtsi32_si128(32 - bits);
        r0 = _mm256_sra_epi32(_mm256_sll_epi32(_mm256_sub_epi32(r0, half), shift), shift);
        r1 = _mm256_sra_epi32(_mm256_sll_epi32(_mm256_sub_epi32(r1, half), shift), shift);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(r), r0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(r + 8), r1);
    alignas(32) int32_t same[k_replay_lanes];
    _mm256_store_si256(reinterpret_cast<__m256i*>(same), same0);
    _mm256_store_si256(reinterpret_cast<__m256i*>(same + 8), same1);
    const uint32_t steps = static_cast<uint32_t>(2 * (p1 - p0));
    for (int l = 0; l < k_replay_lanes; ++l) ev[l] += steps - static_cast<uint32_t>(-same[l]);
}

// ---- AVX-512 VNNI: one vector of 16 lanes, events counted under a mask ----------------------

__attribute__((target("avx512f,avx512vnni"), always_inline)) inline void wrap_step_avx512(
    __m512i& u, __m512i& bucket, __m512i& cnt, __m512i product, __m128i bits, __m512i one) {
    u = _mm512_add_epi32(u, product);
    const __m512i b = _mm512_srl_epi32(u, bits);
    cnt = _mm512_mask_add_epi32(cnt, _mm512_cmpneq_epi32_mask(b, bucket), cnt, one);
    bucket = b;
}

__attribute__((target("avx512f,avx512vnni"), always_inline)) inline void saturate_step_avx512(
    __m512i& reg, __m512i& cnt, __m512i product, __m512i lo, __m512i hi, __m512i one) {
    const __m512i v = _mm512_add_epi32(reg, product);
    const __m512i f = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
    cnt = _mm512_mask_add_epi32(cnt, _mm512_cmpneq_epi32_mask(f, v), cnt, one);
    reg = f;
}

template <bool Wrap>
__attribute__((target("avx512f,avx512vnni"))) void lanes_avx512(const int32_t* xp,
                                                                const int32_t* wq, int64_t p0,
                                                                int64_t p1, int bits, int32_t* r,
                                                                uint32_t* ev) {
    const __m128i nbits = _mm_cvtsi32_si128(bits);
    const __m512i half = _mm512_set1_epi32(static_cast<int32_t>(1u << (bits - 1)));
    const __m512i lo = _mm512_set1_epi32(-(int32_t{1} << (bits - 1)));
    const __m512i hi = _mm512_set1_epi32(static_cast<int32_t>((1u << (bits - 1)) - 1));
    const __m512i low_half = _mm512_set1_epi32(0x0000ffff), one = _mm512_set1_epi32(1);
    const __m512i zero = _mm512_setzero_si512();
    __m512i reg = _mm512_loadu_si512(r), cnt = zero;
    if (Wrap) reg = _mm512_add_epi32(reg, half);
    __m512i bucket = _mm512_srl_epi32(reg, nbits);
    for (int64_t p = p0; p < p1; ++p) {
        const __m512i x = _mm512_set1_epi32(xp[p]);
        const __m512i w = _mm512_loadu_si512(wq + p * k_replay_lanes);
        const __m512i x0 = _mm512_and_si512(x, low_half), x1 = _mm512_andnot_si512(low_half, x);
        const __m512i first = _mm512_dpwssd_epi32(zero, x0, w);
        const __m512i second = _mm512_dpwssd_epi32(zero, x1, w);
        if (Wrap) {
            wrap_step_avx512(reg, bucket, cnt, first, nbits, one);
            wrap_step_avx512(reg, bucket, cnt, second, nbits, one);
        } else {
            saturate_step_avx512(reg, cnt, first, lo, hi, one);
            saturate_step_avx512(reg, cnt, second, lo, hi, one);
        }
    }
    if (Wrap) {
        const __m128i shift = _mm_cvtsi32_si128(32 - bits);
        reg = _mm512_sra_epi32(_mm512_sll_epi32(_mm512_sub_epi32(reg, half), shift), shift);
    }
    _mm512_storeu_si512(r, reg);
    alignas(64) uint32_t added[k_replay_lanes];
    _mm512_store_si512(added, cnt);
    for (int l = 0; l < k_replay_lanes; ++l) ev[l] += added[l];
}

}  // namespace

void replay_lanes(const int32_t* xp, const int32_t* wq, int64_t p0, int64_t p1, int bits, bool wrap,
                  int32_t* r, uint32_t* ev) {
    switch (kernel_choice()) {
        case Kernel::avx512:
            return wrap ? lanes_avx512<true>(xp, wq, p0, p1, bits, r, ev)
                        : lanes_avx512<false>(xp, wq, p0, p1, bits, r, ev);
        case Kernel::avx2:
            return wrap ? lanes_avx2<true>(xp, wq, p0, p1, bits, r, ev)
                        : lanes_avx2<false>(xp, wq, p0, p1, bits, r, ev);
        case Kernel::portable:
            break;
    }
    return wrap ? wrap_portable(xp, wq, p0, p1, bits, r, ev)
                : saturate_portable(xp, wq, p0, p1, bits, r, ev);
}

}  // namespace accsim
