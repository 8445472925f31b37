#include "quad_kernels.h"

#include "simd.h"

#include <algorithm>

#include "int32_range.h"
#include "kernel_choice.h"
#include "lane_replay.h"
#include "parallel_for.h"

namespace accsim {

namespace {

uint32_t byte_of(int32_t v) {
    return static_cast<uint32_t>(v) & 0xffu;
}

// Four values from `at` (up to `end`, zeros after it) as bytes, the first in the lowest.
int32_t quad(const int32_t* at, int64_t n, int32_t offset) {
    uint32_t v = 0;
    for (int64_t b = 0; b < 4; ++b) v |= byte_of(b < n ? at[b] + offset : offset) << (8 * b);
    return static_cast<int32_t>(v);
}

}  // namespace

bool quads_in_use() {
    return kernel_choice() == Kernel::avx512;
}

void pack_weight_quads(const ChunkLayout& l, const int32_t* q, int64_t cols, int64_t k,
                       PackedWeights& w, int threads) {
    const int64_t groups = (cols + k_pack_cols - 1) / k_pack_cols, quads = l.quads();
    const int64_t chunks = l.chunks();
    w.quads = true;
    w.q4.resize(static_cast<std::size_t>(groups * quads * k_pack_cols));
    w.q4_sums.assign(static_cast<std::size_t>(groups * chunks * k_pack_cols), 0);
    if (cols % k_pack_cols != 0) {  // lanes past the last column: zero weights
        int32_t* last = w.q4.data() + (groups - 1) * quads * k_pack_cols;
        for (int64_t p = 0; p < quads; ++p)
            std::fill(last + p * k_pack_cols + cols % k_pack_cols, last + (p + 1) * k_pack_cols, 0);
    }
    constexpr int64_t k_task_cols = 8 * k_pack_cols;
    parallel_for((cols + k_task_cols - 1) / k_task_cols, threads, [&](int64_t task) {
        for (int64_t c = task * k_task_cols; c < std::min(cols, (task + 1) * k_task_cols); ++c) {
            const int32_t* row = q + c * k;
            const int64_t g = c / k_pack_cols, lane = c % k_pack_cols;
            int32_t* out = w.q4.data() + g * quads * k_pack_cols + lane;
            int32_t* sums = w.q4_sums.data() + g * chunks * k_pack_cols + lane;
            for (int64_t t = 0; t < chunks; ++t) {
                int32_t sum = 0;
                for (int64_t i = l.begin[t]; i < l.begin[t + 1]; ++i) sum += row[i];
                sums[t * k_pack_cols] = sum;
                for (int64_t i = l.begin[t], p = l.quad_begin[t]; i < l.begin[t + 1]; i += 4, ++p)
                    out[p * k_pack_cols] = quad(row + i, l.begin[t + 1] - i, 0);
            }
        }
    });
    (void)k;
}

void pack_input_quads(const ChunkLayout& l, const int32_t* x, int64_t rows, int64_t k,
                      QuadInputs& out) {
    const auto [lo, hi] = int32_range(x, rows * k);
    out.is_signed = lo < 0;
    out.fits = out.is_signed ? lo >= -128 && hi <= 127 : hi <= 255;
    if (!out.fits) return;
    const int64_t quads = l.quads(), chunks = l.chunks();
    const int32_t offset = out.is_signed ? 128 : 0;
    out.x.resize(static_cast<std::size_t>(rows * quads));
    // Chunks that all start at multiples of four group k itself in fours.
    bool aligned = true;
    for (int64_t t = 0; t < chunks; ++t) aligned = aligned && l.quad_begin[t] * 4 == l.begin[t];
    const uint32_t off = static_cast<uint32_t>(offset);
    for (int64_t r = 0; r < rows; ++r) {
        const int32_t* row = x + r * k;
        int32_t* dst = out.x.data() + r * quads;
        if (aligned) {
            for (int64_t p = 0; p < k / 4; ++p) {
                const int32_t* v = row + 4 * p;
                dst[p] =
                    static_cast<int32_t>(((static_cast<uint32_t>(v[0]) + off) & 0xffu) |
                                         (((static_cast<uint32_t>(v[1]) + off) & 0xffu) << 8) |
                                         (((static_cast<uint32_t>(v[2]) + off) & 0xffu) << 16) |
                                         ((static_cast<uint32_t>(v[3]) + off) << 24));
            }
            if (k % 4) dst[k / 4] = quad(row + k / 4 * 4, k % 4, offset);
            continue;
        }
        for (int64_t t = 0; t < chunks; ++t)
            for (int64_t i = l.begin[t], p = l.quad_begin[t]; i < l.begin[t + 1]; i += 4, ++p)
                dst[p] = quad(row + i, l.begin[t + 1] - i, offset);
    }
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void chunk_sums_quads(const ChunkSums& job,
                                                                             const QuadInputs& xin,
                                                                             int64_t row0,
                                                                             int64_t rows) {
    const ChunkLayout& l = *job.layout;
    const int64_t chunks = l.chunks(), quads = l.quads();
    const int64_t g0 = job.c0 / k_pack_cols, groups = (job.cols + k_pack_cols - 1) / k_pack_cols;
    const bool is_signed = xin.is_signed;
    const __m512i flip = _mm512_set1_epi32(static_cast<int32_t>(0x80808080u));
    for (int64_t g = 0; g < groups; ++g) {
        const int32_t* q = job.w->q4.data() + (g0 + g) * quads * k_pack_cols;
        const int32_t* sums = job.w->q4_sums.data() + (g0 + g) * chunks * k_pack_cols;
        const int64_t n = std::min(k_pack_cols, job.cols - g * k_pack_cols);
        for (int64_t r0 = 0; r0 < rows; r0 += 8) {
            const int64_t nr = std::min<int64_t>(8, rows - r0);
            const int32_t* xr[8];
            for (int64_t i = 0; i < 8; ++i)
                xr[i] = xin.x.data() + (row0 + r0 + std::min(i, nr - 1)) * quads;
            for (int64_t t = 0; t < chunks; ++t) {
                __m512i s[8], a[8];
                for (int i = 0; i < 8; ++i) s[i] = a[i] = _mm512_setzero_si512();
                for (int64_t p = l.quad_begin[t]; p < l.quad_begin[t + 1]; ++p) {
                    const __m512i w = _mm512_loadu_si512(q + p * k_pack_cols);
                    const __m512i v = _mm512_abs_epi8(w);
                    for (int i = 0; i < 8; ++i) {
                        const __m512i x = _mm512_set1_epi32(xr[i][p]);
                        // |x|: the byte itself, or |(x + 128) - 128| for signed inputs.
                        const __m512i m =
                            is_signed ? _mm512_abs_epi8(_mm512_xor_si512(x, flip)) : x;
                        s[i] = _mm512_dpbusd_epi32(s[i], x, w);
                        a[i] = _mm512_dpbusd_epi32(a[i], m, v);
                    }
                }
                const __m512i back =
                    is_signed ? _mm512_slli_epi32(_mm512_loadu_si512(sums + t * k_pack_cols), 7)
                              : _mm512_setzero_si512();
                alignas(64) int32_t sv[16], av[16];
                for (int64_t i = 0; i < nr; ++i) {
                    _mm512_store_si512(sv, _mm512_sub_epi32(s[i], back));
                    _mm512_store_si512(av, a[i]);
                    const int64_t at = ((r0 + i) * chunks + t) * job.cols + g * k_pack_cols;
                    for (int64_t c = 0; c < n; ++c) {
                        job.s[at + c] = sv[c];
                        job.a[at + c] = av[c];
                    }
                }
            }
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void replay_lanes_quads(
    const int32_t* xq, bool x_signed, const int32_t* wq, int64_t q0, int64_t q1, int bits,
    bool wrap, int32_t* r, uint32_t* ev) {
    // The quads become the pair layout (lane_replay.h's input), then one replay over all of
    // them: weight byte j of each lane sign-extended to 16 bits and paired with byte j + 1;
    // the inputs likewise, less 128 when signed.
    thread_local std::vector<int32_t> xp, wp;
    const int64_t n = q1 - q0;
    xp.resize(static_cast<std::size_t>(2 * n));
    wp.resize(static_cast<std::size_t>(2 * n * k_pack_cols));
    const __m512i low16 = _mm512_set1_epi32(0xffff);
    for (int64_t p = 0; p < n; ++p) {
        const __m512i w = _mm512_loadu_si512(wq + (q0 + p) * k_pack_cols);
        const uint32_t xv = static_cast<uint32_t>(xq[q0 + p]);
        for (int half = 0; half < 2; ++half) {
            const int j = 2 * half;
            const __m512i w0 = _mm512_srai_epi32(_mm512_slli_epi32(w, 24 - 8 * j), 24);
            const __m512i w1 = _mm512_srai_epi32(_mm512_slli_epi32(w, 16 - 8 * j), 24);
            _mm512_storeu_si512(
                wp.data() + (2 * p + half) * k_pack_cols,
                _mm512_or_si512(_mm512_and_si512(w0, low16), _mm512_slli_epi32(w1, 16)));
            int32_t x0 = static_cast<int32_t>((xv >> (8 * j)) & 0xffu);
            int32_t x1 = static_cast<int32_t>((xv >> (8 * j + 8)) & 0xffu);
            if (x_signed) {
                x0 -= 128;
                x1 -= 128;
            }
            xp[2 * p + half] = static_cast<int32_t>((static_cast<uint32_t>(x0) & 0xffffu) |
                                                    (static_cast<uint32_t>(x1) << 16));
        }
    }
    replay_lanes(xp.data(), wp.data(), 0, 2 * n, bits, wrap, r, ev);
}

}  // namespace accsim
