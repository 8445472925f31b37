#include "chunk_kernels.h"

#include "kernel_choice.h"
#include "parallel_for.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace accsim {

namespace {

int32_t pair(int64_t lo, int64_t hi) {
    return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(lo)) |
                                (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16));
}

int16_t lo16(int32_t v) {
    return static_cast<int16_t>(v & 0xffff);
}
int16_t hi16(int32_t v) {
    return static_cast<int16_t>(static_cast<uint32_t>(v) >> 16);
}

// Writes the chunk sums of `n` columns of one (row, chunk) from 32-bit lanes.
inline void store(const int32_t* s32, int64_t n, int64_t* s) {
    for (int64_t c = 0; c < n; ++c) s[c] = s32[c];
}

// ---- portable -----------------------------------------------------------------------------

// One pass of a kernel: rows of packed inputs xp against packed weights wq (the signed values or
// their magnitudes), chunk sums into s laid out [row][chunk][col - c0].
struct Pass {
    const ChunkLayout* layout;
    const int32_t* wq;
    const int32_t* xp;
    int64_t rows, c0, cols;
    int64_t* s;
};

void packed_portable(const Pass& j) {
    const ChunkLayout& l = *j.layout;
    const int64_t chunks = l.chunks(), pairs = l.pairs();
    const int64_t g0 = j.c0 / k_pack_cols, groups = (j.cols + k_pack_cols - 1) / k_pack_cols;
    for (int64_t r = 0; r < j.rows; ++r) {
        const int32_t* xr = j.xp + r * pairs;
        for (int64_t g = 0; g < groups; ++g) {
            const int32_t* q = j.wq + (g0 + g) * pairs * k_pack_cols;
            const int64_t n = std::min(k_pack_cols, j.cols - g * k_pack_cols);
            for (int64_t t = 0; t < chunks; ++t) {
                int32_t s[k_pack_cols] = {};
                for (int64_t p = l.pair_begin[t]; p < l.pair_begin[t + 1]; ++p) {
                    const int32_t x0 = lo16(xr[p]), x1 = hi16(xr[p]);
                    for (int64_t c = 0; c < k_pack_cols; ++c) {
                        const int32_t w = q[p * k_pack_cols + c];
                        s[c] += x0 * lo16(w) + x1 * hi16(w);
                    }
                }
                store(s, n, j.s + (r * chunks + t) * j.cols + g * k_pack_cols);
            }
        }
    }
}

// ---- AVX2: pmaddwd, 4 rows x 16 columns at a time ------------------------------------------

__attribute__((target("avx2"))) void packed_avx2(const Pass& j) {
    const ChunkLayout& l = *j.layout;
    const int64_t chunks = l.chunks(), pairs = l.pairs();
    const int64_t g0 = j.c0 / k_pack_cols, groups = (j.cols + k_pack_cols - 1) / k_pack_cols;
    for (int64_t g = 0; g < groups; ++g) {
        const int32_t* q = j.wq + (g0 + g) * pairs * k_pack_cols;
        const int64_t n = std::min(k_pack_cols, j.cols - g * k_pack_cols);
        for (int64_t r0 = 0; r0 < j.rows; r0 += 4) {
            const int64_t nr = std::min<int64_t>(4, j.rows - r0);
            const int32_t* xr[4];
            for (int64_t i = 0; i < 4; ++i)
                xr[i] = j.xp + (r0 + std::min(i, nr - 1)) * pairs;  // short blocks repeat
            for (int64_t t = 0; t < chunks; ++t) {
                __m256i s00 = _mm256_setzero_si256(), s01 = s00, s10 = s00, s11 = s00;
                __m256i s20 = s00, s21 = s00, s30 = s00, s31 = s00;
                for (int64_t p = l.pair_begin[t]; p < l.pair_begin[t + 1]; ++p) {
                    const __m256i* wp = reinterpret_cast<const __m256i*>(q + p * k_pack_cols);
                    const __m256i w0 = _mm256_loadu_si256(wp), w1 = _mm256_loadu_si256(wp + 1);
                    const __m256i x0 = _mm256_set1_epi32(xr[0][p]),
                                  x1 = _mm256_set1_epi32(xr[1][p]);
                    const __m256i x2 = _mm256_set1_epi32(xr[2][p]),
                                  x3 = _mm256_set1_epi32(xr[3][p]);
                    s00 = _mm256_add_epi32(s00, _mm256_madd_epi16(x0, w0));
                    s01 = _mm256_add_epi32(s01, _mm256_madd_epi16(x0, w1));
                    s10 = _mm256_add_epi32(s10, _mm256_madd_epi16(x1, w0));
                    s11 = _mm256_add_epi32(s11, _mm256_madd_epi16(x1, w1));
                    s20 = _mm256_add_epi32(s20, _mm256_madd_epi16(x2, w0));
                    s21 = _mm256_add_epi32(s21, _mm256_madd_epi16(x2, w1));
                    s30 = _mm256_add_epi32(s30, _mm256_madd_epi16(x3, w0));
                    s31 = _mm256_add_epi32(s31, _mm256_madd_epi16(x3, w1));
                }
                alignas(32) int32_t sv[4][16];
                _mm256_store_si256(reinterpret_cast<__m256i*>(sv[0]), s00);
                _mm256_store_si256(reinterpret_cast<__m256i*>(sv[0] + 8), s01);
                _mm256_store_si256(reinterpret_cast<__m256i*>(sv[1]), s10);
                _mm256_store_si256(reinterpret_cast<__m256i*>(sv[1] + 8), s11);
                _mm256_store_si256(reinterpret_cast<__m256i*>(sv[2]), s20);
                _mm256_store_si256(reinterpret_cast<__m256i*>(sv[2] + 8), s21);
                _mm256_store_si256(reinterpret_cast<__m256i*>(sv[3]), s30);
                _mm256_store_si256(reinterpret_cast<__m256i*>(sv[3] + 8), s31);
                for (int64_t i = 0; i < nr; ++i)
                    store(sv[i], n, j.s + ((r0 + i) * chunks + t) * j.cols + g * k_pack_cols);
            }
        }
    }
}

// ---- AVX-512 VNNI: vpdpwssd, 8 rows x 16 columns at a time ----------------------------------

__attribute__((target("avx512f,avx512vnni"))) void packed_avx512(const Pass& j) {
    const ChunkLayout& l = *j.layout;
    const int64_t chunks = l.chunks(), pairs = l.pairs();
    const int64_t g0 = j.c0 / k_pack_cols, groups = (j.cols + k_pack_cols - 1) / k_pack_cols;
    for (int64_t g = 0; g < groups; ++g) {
        const int32_t* q = j.wq + (g0 + g) * pairs * k_pack_cols;
        const int64_t n = std::min(k_pack_cols, j.cols - g * k_pack_cols);
        for (int64_t r0 = 0; r0 < j.rows; r0 += 8) {
            const int64_t nr = std::min<int64_t>(8, j.rows - r0);
            const int32_t* xr[8];
            for (int64_t i = 0; i < 8; ++i) xr[i] = j.xp + (r0 + std::min(i, nr - 1)) * pairs;
            for (int64_t t = 0; t < chunks; ++t) {
                __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
                __m512i s4 = s0, s5 = s0, s6 = s0, s7 = s0;
                for (int64_t p = l.pair_begin[t]; p < l.pair_begin[t + 1]; ++p) {
                    const __m512i w = _mm512_loadu_si512(q + p * k_pack_cols);
                    s0 = _mm512_dpwssd_epi32(s0, _mm512_set1_epi32(xr[0][p]), w);
                    s1 = _mm512_dpwssd_epi32(s1, _mm512_set1_epi32(xr[1][p]), w);
                    s2 = _mm512_dpwssd_epi32(s2, _mm512_set1_epi32(xr[2][p]), w);
                    s3 = _mm512_dpwssd_epi32(s3, _mm512_set1_epi32(xr[3][p]), w);
                    s4 = _mm512_dpwssd_epi32(s4, _mm512_set1_epi32(xr[4][p]), w);
                    s5 = _mm512_dpwssd_epi32(s5, _mm512_set1_epi32(xr[5][p]), w);
                    s6 = _mm512_dpwssd_epi32(s6, _mm512_set1_epi32(xr[6][p]), w);
                    s7 = _mm512_dpwssd_epi32(s7, _mm512_set1_epi32(xr[7][p]), w);
                }
                alignas(64) int32_t sv[8][16];
                _mm512_store_si512(sv[0], s0);
                _mm512_store_si512(sv[1], s1);
                _mm512_store_si512(sv[2], s2);
                _mm512_store_si512(sv[3], s3);
                _mm512_store_si512(sv[4], s4);
                _mm512_store_si512(sv[5], s5);
                _mm512_store_si512(sv[6], s6);
                _mm512_store_si512(sv[7], s7);
                for (int64_t i = 0; i < nr; ++i)
                    store(sv[i], n, j.s + ((r0 + i) * chunks + t) * j.cols + g * k_pack_cols);
            }
        }
    }
}

}  // namespace

ChunkLayout make_chunk_layout(const std::vector<int64_t>& begin) {
    ChunkLayout l;
    l.begin = begin;
    l.pair_begin.push_back(0);
    for (std::size_t t = 0; t + 1 < begin.size(); ++t)
        l.pair_begin.push_back(l.pair_begin.back() + (begin[t + 1] - begin[t] + 1) / 2);
    return l;
}

PackedWeights pack_weights(const ChunkLayout& l, const int32_t* q, int64_t cols, int64_t k,
                           bool allow_packed, int threads) {
    PackedWeights w;
    w.cols = cols;
    w.k = k;
    int32_t lo = 0, hi = 0;
    for (int64_t i = 0; i < cols * k; ++i) {
        lo = std::min(lo, q[i]);
        hi = std::max(hi, q[i]);
    }
    w.max_abs = std::max(-int64_t{lo}, int64_t{hi});
    w.packed = allow_packed && w.max_abs <= 32767;
    w.wide = q;  // for inputs too wide for the packed path
    if (!w.packed) return w;
    const int64_t groups = (cols + k_pack_cols - 1) / k_pack_cols, pairs = l.pairs();
    w.q.assign(static_cast<std::size_t>(groups * pairs * k_pack_cols), 0);
    w.q_abs.assign(w.q.size(), 0);
    // Column groups write disjoint parts: in parallel, 8 groups (128 columns) a task.
    constexpr int64_t k_task_cols = 8 * k_pack_cols;
    parallel_for((cols + k_task_cols - 1) / k_task_cols, threads, [&](int64_t task) {
        for (int64_t c = task * k_task_cols; c < std::min(cols, (task + 1) * k_task_cols); ++c) {
            const int32_t* row = q + c * k;
            int32_t* out = w.q.data() + (c / k_pack_cols) * pairs * k_pack_cols + c % k_pack_cols;
            int32_t* out_abs = w.q_abs.data() + (out - w.q.data());
            for (int64_t t = 0; t < l.chunks(); ++t) {
                const int64_t b = l.begin[t], e = l.begin[t + 1];
                int64_t p = l.pair_begin[t] * k_pack_cols;
                int64_t i = b;
                for (; i + 1 < e; i += 2, p += k_pack_cols) {
                    const int32_t v0 = row[i], v1 = row[i + 1];
                    out[p] = pair(v0, v1);
                    out_abs[p] = pair(v0 < 0 ? -v0 : v0, v1 < 0 ? -v1 : v1);
                }
                if (i < e) {  // an odd chunk's last product, paired with zero
                    out[p] = pair(row[i], 0);
                    out_abs[p] = pair(row[i] < 0 ? -row[i] : row[i], 0);
                }
            }
        }
    });
    return w;
}

void pack_inputs(const ChunkLayout& l, const int32_t* x, int64_t rows, int64_t k,
                 PackedInputs& out) {
    const int64_t pairs = l.pairs(), chunks = l.chunks();
    out.rows = rows;
    out.max_abs = 0;
    out.x.resize(static_cast<std::size_t>(rows * pairs));
    out.x_abs.resize(out.x.size());
    out.has_negative = false;
    for (int64_t r = 0; r < rows; ++r) {
        const int32_t* row = x + r * k;
        for (int64_t t = 0; t < chunks; ++t)
            for (int64_t i = l.begin[t], p = l.pair_begin[t]; i < l.begin[t + 1]; i += 2, ++p) {
                const int64_t v0 = row[i], v1 = i + 1 < l.begin[t + 1] ? row[i + 1] : 0;
                out.max_abs = std::max({out.max_abs, std::abs(v0), std::abs(v1)});
                out.has_negative = out.has_negative || v0 < 0 || v1 < 0;
                out.x[r * pairs + p] = pair(v0, v1);
                out.x_abs[r * pairs + p] = pair(std::abs(v0), std::abs(v1));
            }
    }
}

void chunk_sums_wide(const ChunkSums& j, const int32_t* x, int64_t rows) {
    const ChunkLayout& l = *j.layout;
    const int64_t chunks = l.chunks(), k = j.w->k;
    for (int64_t r = 0; r < rows; ++r) {
        const int32_t* xr = x + r * k;
        for (int64_t c = 0; c < j.cols; ++c) {
            const int32_t* q = j.w->wide + (j.c0 + c) * k;
            for (int64_t t = 0; t < chunks; ++t) {
                int64_t sum = 0, mag = 0;
                for (int64_t i = l.begin[t]; i < l.begin[t + 1]; ++i) {
                    const int64_t p = int64_t{xr[i]} * q[i];
                    sum += p;
                    mag += p < 0 ? -p : p;
                }
                j.s[(r * chunks + t) * j.cols + c] = sum;
                j.a[(r * chunks + t) * j.cols + c] = mag;
            }
        }
    }
}

void chunk_sums_packed(const ChunkSums& job, const PackedInputs& x) {
    void (*run)(const Pass&) = packed_portable;
    switch (kernel_choice()) {
        case Kernel::avx512:
            run = packed_avx512;
            break;
        case Kernel::avx2:
            run = packed_avx2;
            break;
        case Kernel::portable:
            break;
    }
    run(Pass{job.layout, job.w->q.data(), x.x.data(), x.rows, job.c0, job.cols, job.s});
    // Sum |x q| = sum |x| |q|: the same kernel on the magnitudes (below 2^31 for a packable chunk).
    const int32_t* x_abs = x.has_negative ? x.x_abs.data() : x.x.data();
    run(Pass{job.layout, job.w->q_abs.data(), x_abs, x.rows, job.c0, job.cols, job.a});
}

}  // namespace accsim
