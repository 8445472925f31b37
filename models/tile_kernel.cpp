#include "tile_kernel.h"

#include <algorithm>

#include "datapath/parallel_for.h"

namespace accsim {

std::vector<OutputTile> completed_tiles(const ArraySpec& a, const LayerWork& w, const Fold& f) {
    std::vector<OutputTile> out;
    if (f.outputs_done == 0) return out;
    switch (a.kind) {
        case ArrayKind::systolic: {
            const int64_t r0 = f.row_fold * a.rows, c0 = f.col_fold * a.cols;
            switch (a.dataflow) {
                case Dataflow::os:
                    out.push_back({f.group, r0, r0 + f.rows_used, c0, c0 + f.cols_used});
                    break;
                case Dataflow::ws:
                    out.push_back({f.group, 0, w.m, c0, c0 + f.cols_used});
                    break;
                case Dataflow::is:
                    out.push_back({f.group, c0, c0 + f.cols_used, 0, w.n});
                    break;
            }
            break;
        }
        case ArrayKind::vector: {
            const int64_t n0 = f.col_fold * a.pe;
            out.push_back({f.group, 0, w.m, n0, n0 + f.cols_used});
            break;
        }
        case ArrayKind::tensor_core: {
            const int64_t tn = (w.n + a.n - 1) / a.n, tiles = ((w.m + a.m - 1) / a.m) * tn;
            for (int64_t t = f.col_fold * a.units; t < std::min(tiles, (f.col_fold + 1) * a.units);
                 ++t) {
                const int64_t m0 = (t / tn) * a.m, n0 = (t % tn) * a.n;
                out.push_back({f.group, m0, std::min(w.m, m0 + a.m), n0, std::min(w.n, n0 + a.n)});
            }
            break;
        }
    }
    return out;
}

TileKernel::TileKernel(const AccumulatorSpec& spec, int64_t k, int threads, bool stage1_safe)
    : m_spec(spec), m_k(k), m_threads(threads), m_stage1_safe(stage1_safe), m_planner(spec, k) {}

void TileKernel::run(const OutputTile& t, const OperandSource& source, OutputSink& sink) {
    // Rows of 16 positions replay in parallel; their blocks reach the sink in order, so the
    // statistics are the same for any thread count.
    constexpr int64_t k_rows = 16;
    const int64_t rows = t.m1 - t.m0, cols = t.n1 - t.n0;
    m_q.resize(static_cast<std::size_t>(cols * m_k));
    m_x.resize(static_cast<std::size_t>(rows * m_k));
    m_bias.assign(static_cast<std::size_t>(cols), 0);
    bool has_bias = false;
    for (int64_t n = t.n0; n < t.n1; ++n) {
        source.q(t.group, n, 0, m_k, m_q.data() + (n - t.n0) * m_k);
        if (const auto b = source.bias(t.group, n)) {
            m_bias[n - t.n0] = *b;
            has_bias = true;
        }
    }
    for (int64_t m = t.m0; m < t.m1; ++m)
        source.x(t.group, m, 0, m_k, m_x.data() + (m - t.m0) * m_k);
    const int64_t blocks = (rows + k_rows - 1) / k_rows;
    m_blocks.resize(static_cast<std::size_t>(blocks));
    const PackedWeights q = m_planner.pack(m_q.data(), cols);
    parallel_for(blocks, m_threads, [&](int64_t b) {
        FastReducer reducer(m_spec, m_k);
        reducer.set_stage1_safe(m_stage1_safe);
        const int64_t r0 = b * k_rows;
        reducer.run(m_x.data() + r0 * m_k, std::min(k_rows, rows - r0), q, 0, cols,
                    has_bias ? m_bias.data() : nullptr, m_blocks[b]);
    });
    for (int64_t b = 0; b < blocks; ++b)
        sink.output_block(t.group, t.m0 + b * k_rows, t.n0, m_blocks[b]);
}

}  // namespace accsim
