#include "tile_kernel.h"

#include <algorithm>

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

TileKernel::TileKernel(const AccumulatorSpec& spec, int64_t k)
    : m_reducer(spec),
      m_k(k),
      m_x(static_cast<std::size_t>(k)),
      m_q(static_cast<std::size_t>(k)),
      m_products(static_cast<std::size_t>(k)) {}

void TileKernel::run(const OutputTile& t, const OperandSource& source, OutputSink& sink) {
    // The tile's weight rows once, then each position's inputs once.
    const int64_t channels = t.n1 - t.n0;
    m_q.resize(static_cast<std::size_t>(channels * m_k));
    std::vector<std::optional<int64_t>> bias(static_cast<std::size_t>(channels));
    for (int64_t n = t.n0; n < t.n1; ++n) {
        source.q(t.group, n, 0, m_k, m_q.data() + (n - t.n0) * m_k);
        bias[n - t.n0] = source.bias(t.group, n);
    }
    for (int64_t m = t.m0; m < t.m1; ++m) {
        source.x(t.group, m, 0, m_k, m_x.data());
        for (int64_t n = t.n0; n < t.n1; ++n) {
            const int32_t* q = m_q.data() + (n - t.n0) * m_k;
            for (int64_t i = 0; i < m_k; ++i) m_products[i] = int64_t{q[i]} * m_x[i];
            m_reducer.reduce(m_products.data(), static_cast<std::size_t>(m_k), bias[n - t.n0],
                             m_outcome);
            sink.output(t.group, m, n, m_outcome);
        }
    }
}

}  // namespace accsim
