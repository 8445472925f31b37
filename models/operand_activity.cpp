#include "operand_activity.h"

#include <vector>

namespace accsim {

namespace {

void to_mask(const std::vector<int32_t>& v, uint64_t* mask, std::size_t words) {
    for (std::size_t w = 0; w < words; ++w) mask[w] = 0;
    for (std::size_t i = 0; i < v.size(); ++i)
        if (v[i] != 0) mask[i / 64] |= uint64_t{1} << (i % 64);
}

}  // namespace

// With the popcnt instruction where the CPU has it (one instruction instead of libgcc's loop),
// picked at load time; the same counts either way.
__attribute__((target_clones("popcnt", "default"))) ZeroProducts count_zero_products(
    const LayerWork& work, const OperandSource& source) {
    const std::size_t k = static_cast<std::size_t>(work.k), words = (k + 63) / 64;
    std::vector<int32_t> row(k);
    std::vector<uint64_t> q_masks(static_cast<std::size_t>(work.n) * words), x_mask(words);
    int64_t both = 0, x_nonzero = 0, q_nonzero = 0;  // summed over every (m, n) pair
    for (int64_t g = 0; g < work.groups; ++g) {
        for (int64_t n = 0; n < work.n; ++n) {
            source.q(g, n, 0, work.k, row.data());
            uint64_t* q = q_masks.data() + n * words;
            to_mask(row, q, words);
            for (std::size_t w = 0; w < words; ++w)
                q_nonzero += __builtin_popcountll(q[w]) * work.m;
        }
        for (int64_t m = 0; m < work.m; ++m) {
            source.x(g, m, 0, work.k, row.data());
            to_mask(row, x_mask.data(), words);
            for (std::size_t w = 0; w < words; ++w)
                x_nonzero += __builtin_popcountll(x_mask[w]) * work.n;
            for (int64_t n = 0; n < work.n; ++n) {
                const uint64_t* q = q_masks.data() + n * words;
                for (std::size_t w = 0; w < words; ++w)
                    both += __builtin_popcountll(x_mask[w] & q[w]);
            }
        }
    }
    return ZeroProducts{work.macs() - both, work.macs() - x_nonzero, work.macs() - q_nonzero};
}

}  // namespace accsim
