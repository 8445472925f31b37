#include "lane_stage.h"

#include <algorithm>

#include "kernel_choice.h"

namespace accsim {

namespace {

constexpr int k_lanes = 16;

// The body, inlined into a function per instruction set so that the compiler vectorizes it for
// each (64-bit compares, minimum and maximum need AVX2 or AVX-512).
template <bool Wrap>
__attribute__((always_inline)) inline void body(const int64_t* bounded, const int64_t* unbounded,
                                                std::size_t tiles, int bits, int64_t* r,
                                                uint32_t* ev, int64_t* low, int64_t* high) {
    const int shift = 64 - bits;
    const int64_t lo = -(int64_t{1} << (bits - 1)), hi = (int64_t{1} << (bits - 1)) - 1;
    int64_t reg[k_lanes], u[k_lanes] = {}, ulo[k_lanes], uhi[k_lanes];
    uint32_t e[k_lanes];
    for (int l = 0; l < k_lanes; ++l) {
        reg[l] = r[l];
        e[l] = ev[l];
        ulo[l] = low[l];
        uhi[l] = high[l];
    }
    for (std::size_t t = 0; t < tiles; ++t) {
        const int64_t* b = bounded + t * k_lanes;
        const int64_t* ub = unbounded + t * k_lanes;
        for (int l = 0; l < k_lanes; ++l) {
            const int64_t v = reg[l] + b[l];
            const int64_t f = Wrap
                                  ? static_cast<int64_t>(static_cast<uint64_t>(v) << shift) >> shift
                                  : std::min(std::max(v, lo), hi);
            e[l] += f != v;
            reg[l] = f;
            u[l] += ub[l];
            ulo[l] = std::min(ulo[l], u[l]);
            uhi[l] = std::max(uhi[l], u[l]);
        }
    }
    for (int l = 0; l < k_lanes; ++l) {
        r[l] = reg[l];
        ev[l] = e[l];
        low[l] = ulo[l];
        high[l] = uhi[l];
    }
}

template <bool Wrap>
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq"))) void stage_avx512(
    const int64_t* b, const int64_t* u, std::size_t n, int bits, int64_t* r, uint32_t* ev,
    int64_t* lo, int64_t* hi) {
    body<Wrap>(b, u, n, bits, r, ev, lo, hi);
}

template <bool Wrap>
__attribute__((target("avx2"))) void stage_avx2(const int64_t* b, const int64_t* u, std::size_t n,
                                                int bits, int64_t* r, uint32_t* ev, int64_t* lo,
                                                int64_t* hi) {
    body<Wrap>(b, u, n, bits, r, ev, lo, hi);
}

template <bool Wrap>
void stage_portable(const int64_t* b, const int64_t* u, std::size_t n, int bits, int64_t* r,
                    uint32_t* ev, int64_t* lo, int64_t* hi) {
    body<Wrap>(b, u, n, bits, r, ev, lo, hi);
}

}  // namespace

void last_stage_lanes(const int64_t* bounded, const int64_t* unbounded, std::size_t tiles,
                      const LastStage& stage, int64_t* r, uint32_t* ev, int64_t* low,
                      int64_t* high) {
    const auto run = [&](auto f) { f(bounded, unbounded, tiles, stage.bits, r, ev, low, high); };
    switch (kernel_choice()) {
        case Kernel::avx512:
            return stage.wrap ? run(stage_avx512<true>) : run(stage_avx512<false>);
        case Kernel::avx2:
            return stage.wrap ? run(stage_avx2<true>) : run(stage_avx2<false>);
        case Kernel::portable:
            break;
    }
    return stage.wrap ? run(stage_portable<true>) : run(stage_portable<false>);
}

}  // namespace accsim
