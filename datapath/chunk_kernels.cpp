#include "chunk_kernels.h"

#include "int32_range.h"
#include "kernel_choice.h"
#include "parallel_for.h"
#include "quad_kernels.h"

#include "simd.h"

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

// One run of a kernel: rows of packed inputs xp (and their magnitudes xa, which may be xp
// itself) against packed weights wq; chunk sums into s and sums of magnitudes into a, both laid
// out [row][chunk][col - c0]. A weight's magnitude is taken on the fly (no copy of |q|).
struct Pass {
    const ChunkLayout* layout;
    const int32_t* wq;
    const int32_t* xp;
    const int32_t* xa;
    int64_t rows, c0, cols;
    int64_t* s;
    int64_t* a;
};

int32_t abs16(int32_t v) {
    return v < 0 ? -v : v;
}

void packed_portable(const Pass& j) {
    const ChunkLayout& l = *j.layout;
    const int64_t chunks = l.chunks(), pairs = l.pairs();
    const int64_t g0 = j.c0 / k_pack_cols, groups = (j.cols + k_pack_cols - 1) / k_pack_cols;
    for (int64_t r = 0; r < j.rows; ++r) {
        const int32_t* xr = j.xp + r * pairs;
        const int32_t* xm = j.xa + r * pairs;
        for (int64_t g = 0; g < groups; ++g) {
            const int32_t* q = j.wq + (g0 + g) * pairs * k_pack_cols;
            const int64_t n = std::min(k_pack_cols, j.cols - g * k_pack_cols);
            for (int64_t t = 0; t < chunks; ++t) {
                int32_t s[k_pack_cols] = {}, m[k_pack_cols] = {};
                for (int64_t p = l.pair_begin[t]; p < l.pair_begin[t + 1]; ++p) {
                    const int32_t x0 = lo16(xr[p]), x1 = hi16(xr[p]);
                    const int32_t a0 = lo16(xm[p]), a1 = hi16(xm[p]);
                    for (int64_t c = 0; c < k_pack_cols; ++c) {
                        const int32_t w = q[p * k_pack_cols + c];
                        s[c] += x0 * lo16(w) + x1 * hi16(w);
                        m[c] += a0 * abs16(lo16(w)) + a1 * abs16(hi16(w));
                    }
                }
                const int64_t at = (r * chunks + t) * j.cols + g * k_pack_cols;
                store(s, n, j.s + at);
                store(m, n, j.a + at);
            }
        }
    }
}

// ---- AVX2: pmaddwd, 2 rows x 16 columns at a time, sums and magnitudes together -------------

__attribute__((target("avx2"))) void packed_avx2(const Pass& j) {
    const ChunkLayout& l = *j.layout;
    const int64_t chunks = l.chunks(), pairs = l.pairs();
    const int64_t g0 = j.c0 / k_pack_cols, groups = (j.cols + k_pack_cols - 1) / k_pack_cols;
    for (int64_t g = 0; g < groups; ++g) {
        const int32_t* q = j.wq + (g0 + g) * pairs * k_pack_cols;
        const int64_t n = std::min(k_pack_cols, j.cols - g * k_pack_cols);
        for (int64_t r0 = 0; r0 < j.rows; r0 += 2) {
            const int64_t nr = std::min<int64_t>(2, j.rows - r0);
            const int64_t r1 = r0 + nr - 1;  // a short block repeats its row
            const int32_t *x0 = j.xp + r0 * pairs, *x1 = j.xp + r1 * pairs;
            const int32_t *m0 = j.xa + r0 * pairs, *m1 = j.xa + r1 * pairs;
            for (int64_t t = 0; t < chunks; ++t) {
                __m256i s00 = _mm256_setzero_si256(), s01 = s00, s10 = s00, s11 = s00;
                __m256i a00 = s00, a01 = s00, a10 = s00, a11 = s00;
                for (int64_t p = l.pair_begin[t]; p < l.pair_begin[t + 1]; ++p) {
                    const __m256i* wp = reinterpret_cast<const __m256i*>(q + p * k_pack_cols);
                    const __m256i w0 = _mm256_loadu_si256(wp), w1 = _mm256_loadu_si256(wp + 1);
                    const __m256i v0 = _mm256_abs_epi16(w0), v1 = _mm256_abs_epi16(w1);
                    const __m256i xa = _mm256_set1_epi32(x0[p]), xb = _mm256_set1_epi32(x1[p]);
                    const __m256i ma = _mm256_set1_epi32(m0[p]), mb = _mm256_set1_epi32(m1[p]);
                    s00 = _mm256_add_epi32(s00, _mm256_madd_epi16(xa, w0));
                    s01 = _mm256_add_epi32(s01, _mm256_madd_epi16(xa, w1));
                    s10 = _mm256_add_epi32(s10, _mm256_madd_epi16(xb, w0));
                    s11 = _mm256_add_epi32(s11, _mm256_madd_epi16(xb, w1));
                    a00 = _mm256_add_epi32(a00, _mm256_madd_epi16(ma, v0));
                    a01 = _mm256_add_epi32(a01, _mm256_madd_epi16(ma, v1));
                    a10 = _mm256_add_epi32(a10, _mm256_madd_epi16(mb, v0));
                    a11 = _mm256_add_epi32(a11, _mm256_madd_epi16(mb, v1));
                }
                alignas(32) int32_t sv[2][16], av[2][16];
                _mm256_store_si256(reinterpret_cast<__m256i*>(sv[0]), s00);
                _mm256_store_si256(reinterpret_cast<__m256i*>(sv[0] + 8), s01);
                _mm256_store_si256(reinterpret_cast<__m256i*>(sv[1]), s10);
                _mm256_store_si256(reinterpret_cast<__m256i*>(sv[1] + 8), s11);
                _mm256_store_si256(reinterpret_cast<__m256i*>(av[0]), a00);
                _mm256_store_si256(reinterpret_cast<__m256i*>(av[0] + 8), a01);
                _mm256_store_si256(reinterpret_cast<__m256i*>(av[1]), a10);
                _mm256_store_si256(reinterpret_cast<__m256i*>(av[1] + 8), a11);
                for (int64_t i = 0; i < nr; ++i) {
                    const int64_t at = ((r0 + i) * chunks + t) * j.cols + g * k_pack_cols;
                    store(sv[i], n, j.s + at);
                    store(av[i], n, j.a + at);
                }
            }
        }
    }
}

// ---- AVX-512 VNNI: vpdpwssd, 8 rows x 16 columns at a time, sums and magnitudes together ----

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void packed_avx512(const Pass& j) {
    const ChunkLayout& l = *j.layout;
    const int64_t chunks = l.chunks(), pairs = l.pairs();
    const int64_t g0 = j.c0 / k_pack_cols, groups = (j.cols + k_pack_cols - 1) / k_pack_cols;
    const bool same = j.xa == j.xp;  // unsigned inputs: their own magnitudes
    for (int64_t g = 0; g < groups; ++g) {
        const int32_t* q = j.wq + (g0 + g) * pairs * k_pack_cols;
        const int64_t n = std::min(k_pack_cols, j.cols - g * k_pack_cols);
        for (int64_t r0 = 0; r0 < j.rows; r0 += 8) {
            const int64_t nr = std::min<int64_t>(8, j.rows - r0);
            const int32_t *xr[8], *mr[8];
            for (int64_t i = 0; i < 8; ++i) {
                xr[i] = j.xp + (r0 + std::min(i, nr - 1)) * pairs;  // short blocks repeat
                mr[i] = j.xa + (r0 + std::min(i, nr - 1)) * pairs;
            }
            for (int64_t t = 0; t < chunks; ++t) {
                __m512i s[8], a[8];
                for (int i = 0; i < 8; ++i) s[i] = a[i] = _mm512_setzero_si512();
                const int64_t p0 = l.pair_begin[t], p1 = l.pair_begin[t + 1];
                if (same) {
                    for (int64_t p = p0; p < p1; ++p) {
                        const __m512i w = _mm512_loadu_si512(q + p * k_pack_cols);
                        const __m512i v = _mm512_abs_epi16(w);
                        for (int i = 0; i < 8; ++i) {
                            const __m512i x = _mm512_set1_epi32(xr[i][p]);
                            s[i] = _mm512_dpwssd_epi32(s[i], x, w);
                            a[i] = _mm512_dpwssd_epi32(a[i], x, v);
                        }
                    }
                } else {
                    for (int64_t p = p0; p < p1; ++p) {
                        const __m512i w = _mm512_loadu_si512(q + p * k_pack_cols);
                        const __m512i v = _mm512_abs_epi16(w);
                        for (int i = 0; i < 8; ++i) {
                            s[i] = _mm512_dpwssd_epi32(s[i], _mm512_set1_epi32(xr[i][p]), w);
                            a[i] = _mm512_dpwssd_epi32(a[i], _mm512_set1_epi32(mr[i][p]), v);
                        }
                    }
                }
                alignas(64) int32_t sv[16], av[16];
                for (int64_t i = 0; i < nr; ++i) {
                    _mm512_store_si512(sv, s[i]);
                    _mm512_store_si512(av, a[i]);
                    const int64_t at = ((r0 + i) * chunks + t) * j.cols + g * k_pack_cols;
                    store(sv, n, j.s + at);
                    store(av, n, j.a + at);
                }
            }
        }
    }
}

}  // namespace

ChunkLayout make_chunk_layout(const std::vector<int64_t>& begin) {
    ChunkLayout l;
    l.begin = begin;
    l.pair_begin.push_back(0);
    l.quad_begin.push_back(0);
    for (std::size_t t = 0; t + 1 < begin.size(); ++t) {
        l.pair_begin.push_back(l.pair_begin.back() + (begin[t + 1] - begin[t] + 1) / 2);
        l.quad_begin.push_back(l.quad_begin.back() + (begin[t + 1] - begin[t] + 3) / 4);
    }
    return l;
}

PackedWeights pack_weights(const ChunkLayout& l, const int32_t* q, int64_t cols, int64_t k,
                           bool allow_packed, int threads, bool quads) {
    PackedWeights w;
    w.cols = cols;
    w.k = k;
    const auto [lo, hi] = int32_range(q, cols * k);
    w.max_abs = std::max({int64_t{0}, -int64_t{lo}, int64_t{hi}});
    w.wide = q;  // for inputs too wide for the packed path
    if (allow_packed && quads && w.max_abs <= 127) {
        pack_weight_quads(l, q, cols, k, w, threads);
        return w;
    }
    w.packed = allow_packed && w.max_abs <= 32767;
    if (!w.packed) return w;
    const int64_t groups = (cols + k_pack_cols - 1) / k_pack_cols, pairs = l.pairs();
    // Every slot of a column is written below; only the lanes past the last column stay zero.
    w.q.resize(static_cast<std::size_t>(groups * pairs * k_pack_cols));
    if (cols % k_pack_cols != 0) {
        int32_t* last = w.q.data() + (groups - 1) * pairs * k_pack_cols;
        for (int64_t p = 0; p < pairs; ++p)
            std::fill(last + p * k_pack_cols + cols % k_pack_cols, last + (p + 1) * k_pack_cols, 0);
    }
    // Column groups write disjoint parts: in parallel, 8 groups (128 columns) a task.
    constexpr int64_t k_task_cols = 8 * k_pack_cols;
    parallel_for((cols + k_task_cols - 1) / k_task_cols, threads, [&](int64_t task) {
        for (int64_t c = task * k_task_cols; c < std::min(cols, (task + 1) * k_task_cols); ++c) {
            const int32_t* row = q + c * k;
            int32_t* out = w.q.data() + (c / k_pack_cols) * pairs * k_pack_cols + c % k_pack_cols;
            for (int64_t t = 0; t < l.chunks(); ++t) {
                const int64_t b = l.begin[t], e = l.begin[t + 1];
                int64_t p = l.pair_begin[t] * k_pack_cols;
                int64_t i = b;
                for (; i + 1 < e; i += 2, p += k_pack_cols) out[p] = pair(row[i], row[i + 1]);
                if (i < e) out[p] = pair(row[i], 0);  // an odd chunk's last product, with zero
            }
        }
    });
    return w;
}

void pack_inputs(const ChunkLayout& l, const int32_t* x, int64_t rows, int64_t k,
                 PackedInputs& out) {
    const int64_t pairs = l.pairs(), chunks = l.chunks();
    out.rows = rows;
    out.x.resize(static_cast<std::size_t>(rows * pairs));
    // The range of the block first: nothing is packed when it does not fit 16 bits.
    const auto [lo, hi] = int32_range(x, rows * k);
    out.max_abs = std::max({int64_t{0}, -int64_t{lo}, int64_t{hi}});
    out.has_negative = lo < 0;
    if (out.max_abs > 32767) return;  // not packable: the wide path reads x itself
    // Chunks that all start at even k (tiles of even length, or one tile) pair up k itself:
    // the packed row is the row's values as int16, a zero after an odd last one.
    bool even = true;
    for (int64_t t = 0; t < chunks; ++t) even = even && l.pair_begin[t] * 2 == l.begin[t];
    for (int64_t r = 0; r < rows; ++r) {
        const int32_t* row = x + r * k;
        int32_t* dst = out.x.data() + r * pairs;
        if (even) {
            for (int64_t p = 0; p < k / 2; ++p)
                dst[p] = static_cast<int32_t>((static_cast<uint32_t>(row[2 * p]) & 0xffffu) |
                                              (static_cast<uint32_t>(row[2 * p + 1]) << 16));
            if (k % 2) dst[k / 2] = pair(row[k - 1], 0);
            continue;
        }
        for (int64_t t = 0; t < chunks; ++t)
            for (int64_t i = l.begin[t], p = l.pair_begin[t]; i < l.begin[t + 1]; i += 2, ++p)
                dst[p] = pair(row[i], i + 1 < l.begin[t + 1] ? row[i + 1] : 0);
    }
    if (!out.has_negative) return;  // the inputs are their own magnitudes
    out.x_abs.resize(out.x.size());
    for (std::size_t i = 0; i < out.x.size(); ++i) {
        const int32_t a = lo16(out.x[i]), b = hi16(out.x[i]);
        out.x_abs[i] = pair(a < 0 ? -a : a, b < 0 ? -b : b);
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

void chunk_sums_packed(const ChunkSums& job, const PackedInputs& x, int64_t row0, int64_t rows) {
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
    // Sum |x q| = sum |x| |q| (below 2^31 for a packable chunk): the magnitudes in the same run.
    const int64_t at = row0 * job.layout->pairs();
    const int32_t* x_abs = (x.has_negative ? x.x_abs.data() : x.x.data()) + at;
    run(Pass{job.layout, job.w->q.data(), x.x.data() + at, x_abs, rows, job.c0, job.cols, job.s,
             job.a});
}

}  // namespace accsim
