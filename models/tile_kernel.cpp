#include "tile_kernel.h"

#include <algorithm>

#include "datapath/parallel_for.h"
#include "models/array_kind.h"

namespace accsim {

std::vector<OutputTile> completed_tiles(const ArraySpec& a, const LayerWork& w, const Fold& f) {
    std::vector<OutputTile> out;
    if (f.outputs_done == 0) return out;
    array_kind_model(a.kind).completed_tiles(a, w, f, out);
    return out;
}

TileKernel::TileKernel(const AccumulatorSpec& spec, const LayerWork& work, int threads,
                       bool stage1_safe)
    : m_spec(spec),
      m_work(work),
      m_k(work.k),
      m_threads(threads),
      m_stage1_safe(stage1_safe),
      m_planner(spec, work.k) {}

void TileKernel::load_group(int64_t group, const OperandSource& source) {
    if (group == m_group) return;
    m_group = group;
    m_group_q.resize(static_cast<std::size_t>(m_work.n * m_k));
    m_group_x.clear();
    if (m_work.m * m_k <= k_max_group_x) {
        // Rows in parallel blocks (the source's bulk reads are thread-safe).
        m_group_x.resize(static_cast<std::size_t>(m_work.m * m_k));
        constexpr int64_t k_rows = 256;
        parallel_for((m_work.m + k_rows - 1) / k_rows, m_threads, [&](int64_t b) {
            const int64_t m0 = b * k_rows, m1 = std::min(m_work.m, m0 + k_rows);
            source.x_rows(group, m0, m1, m_k, m_group_x.data() + m0 * m_k);
        });
    }
    source.q_rows(group, m_work.n, m_k, m_group_q.data());
    m_group_packed = m_planner.pack(m_group_q.data(), m_work.n);
}

void TileKernel::run(const OutputTile& t, const OperandSource& source, OutputSink& sink) {
    // Rows of 16 positions replay in parallel; their blocks reach the sink in order, so the
    // statistics are the same for any thread count.
    constexpr int64_t k_rows = 16;
    load_group(t.group, source);
    const int64_t rows = t.m1 - t.m0, cols = t.n1 - t.n0;
    m_bias.assign(static_cast<std::size_t>(cols), 0);
    bool has_bias = false;
    for (int64_t n = t.n0; n < t.n1; ++n)
        if (const auto b = source.bias(t.group, n)) {
            m_bias[n - t.n0] = *b;
            has_bias = true;
        }
    // The group's packed weights serve tiles whose first channel starts a packed column group;
    // others (tensor-core tiles of 8 channels) pack their own.
    PackedWeights own;
    const bool shared = t.n0 % k_pack_cols == 0;
    if (!shared) own = m_planner.pack(m_group_q.data() + t.n0 * m_k, cols);
    const PackedWeights& q = shared ? m_group_packed : own;
    const int64_t c0 = shared ? t.n0 : 0;
    // The tile's inputs: a slice of the group's, or gathered now when the group's are too big.
    const int32_t* x = nullptr;
    if (!m_group_x.empty()) {
        x = m_group_x.data() + t.m0 * m_k;
    } else {
        m_tile_x.resize(static_cast<std::size_t>(rows * m_k));
        source.x_rows(t.group, t.m0, t.m1, m_k, m_tile_x.data());
        x = m_tile_x.data();
    }
    const int64_t blocks = (rows + k_rows - 1) / k_rows;
    m_blocks.resize(static_cast<std::size_t>(blocks));
    parallel_for(blocks, m_threads, [&](int64_t b) {
        FastReducer reducer(m_spec, m_k);
        reducer.set_stage1_safe(m_stage1_safe);
        const int64_t r0 = b * k_rows;
        reducer.run(x + r0 * m_k, std::min(k_rows, rows - r0), q, c0, cols,
                    has_bias ? m_bias.data() : nullptr, m_blocks[b]);
    });
    for (int64_t b = 0; b < blocks; ++b)
        sink.output_block(t.group, t.m0 + b * k_rows, t.n0, m_blocks[b]);
}

}  // namespace accsim
