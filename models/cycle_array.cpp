#include "cycle_array.h"

#include "models/array_kind.h"

#include <memory>
#include <stdexcept>

namespace accsim {
namespace {

struct Token {
    bool valid = false;
    int64_t index = 0;  // position in the stream (ws: m, is: n, os: k)
    int32_t value = 0;
};

struct SumToken {
    bool valid = false;
    int64_t index = 0;
    PartialSum sum;
};

// ---- ws and is: one operand stays in the PEs, the other streams right, sums run down
// -------------

class ColumnFold : public FoldSim {
  public:
    ColumnFold(const ArraySpec& a, const AccumulatorSpec& acc, const LayerWork& w, const Fold& f,
               const OperandSource* values, CycleBank* bank)
        : m_R(a.rows),
          m_C(a.cols),
          m_ws(a.dataflow == Dataflow::ws),
          m_work(w),
          m_fold(f),
          m_values(values),
          m_bank(bank),
          m_stage(acc.stages.front()) {
        m_k0 = f.row_fold * a.rows;
        m_c0 = f.col_fold * a.cols;
        m_last_k_fold = (f.row_fold + 1) * a.rows >= w.k;
        m_x.assign(m_R * m_C, Token{});
        m_p.assign(m_R * m_C, SumToken{});
        m_stationary.assign(m_R * m_C, 0);
        m_loading.assign(m_R * m_C, 0);
        if (values) {
            // The stationary operand of each PE: ws holds weights q[n][k], is inputs x[m][k].
            std::vector<int32_t> v(static_cast<std::size_t>(w.k));
            for (int64_t j = 0; j < f.cols_used; ++j) {
                if (m_ws)
                    values->q(f.group, m_c0 + j, 0, w.k, v.data());
                else
                    values->x(f.group, m_c0 + j, 0, w.k, v.data());
                for (int64_t i = 0; i < f.rows_used; ++i) m_rows_of_stationary(i, j) = v[m_k0 + i];
            }
            m_stream.resize(static_cast<std::size_t>(w.k));
        }
    }

    void step() override {
        const int64_t c = m_cycle;
        m_probe = CycleProbe{};
        if (c < m_R) {
            // Preload: the stationary rows shift in from the top, one row per cycle; after R
            // cycles row i holds its own values.
            for (int64_t i = m_R - 1; i > 0; --i)
                for (int64_t j = 0; j < m_C; ++j)
                    at(m_stationary, i, j) = at(m_stationary, i - 1, j);
            for (int64_t j = 0; j < m_C; ++j)
                at(m_stationary, 0, j) = at(m_loading, m_R - 1 - c, j);
        } else {
            stream_cycle(c - m_R);
        }
        ++m_cycle;
    }

    bool done() const override { return m_finished; }
    const CycleProbe& probe() const override { return m_probe; }

  private:
    template <typename T>
    T& at(std::vector<T>& v, int64_t i, int64_t j) {
        return v[static_cast<std::size_t>(i * m_C + j)];
    }
    int32_t& m_rows_of_stationary(int64_t i, int64_t j) { return at(m_loading, i, j); }

    int64_t stream_length() const { return m_ws ? m_work.m : m_work.n; }

    // The streaming operand entering row i at stream index s (ws: x[m=s][k0+i]; is: q[n=s][k0+i]).
    int32_t stream_value(int64_t s, int64_t i) {
        if (!m_values || i >= m_fold.rows_used) return 0;
        if (s != m_cached) {
            if (m_ws)
                m_values->x(m_fold.group, s, 0, m_work.k, m_stream.data());
            else
                m_values->q(m_fold.group, s, 0, m_work.k, m_stream.data());
            m_cached = s;
        }
        return m_stream[static_cast<std::size_t>(m_k0 + i)];
    }

    // The output a sum token of column j and stream index s belongs to: (m, n).
    void output_of(int64_t j, int64_t s, int64_t& m, int64_t& n) const {
        if (m_ws)
            m = s, n = m_c0 + j;
        else
            m = m_c0 + j, n = s;
    }

    void stream_cycle(int64_t t) {
        const int64_t T = stream_length();
        std::vector<Token> nx(m_x.size());
        std::vector<SumToken> np(m_p.size());
        for (int64_t i = 0; i < m_R; ++i) {
            for (int64_t j = 0; j < m_C; ++j) {
                // Operands move right one PE per cycle; row i's stream starts i cycles late.
                Token in;
                if (j > 0) {
                    in = at(m_x, i, j - 1);
                } else {
                    const int64_t s = t - i;
                    if (s >= 0 && s < T) in = Token{true, s, stream_value(s, i)};
                }
                at(nx, i, j) = in;
                if (j == 0 && in.valid)
                    m_probe.row_valid |= uint64_t{1} << std::min<int64_t>(i, 63);
                // Sums move down one PE per cycle; column j's start j cycles late.
                SumToken sum;
                if (i > 0) {
                    sum = at(m_p, i - 1, j);
                } else {
                    const int64_t s = t - j;
                    if (s >= 0 && s < T) {
                        sum = SumToken{true, s, PartialSum{}};
                        if (m_bank && j < m_fold.cols_used) {
                            int64_t m, n;
                            output_of(j, s, m, n);
                            sum.sum =
                                m_bank->start(m_fold.group, m, n, m_values->bias(m_fold.group, n));
                        }
                    }
                }
                if (sum.valid && in.valid && m_values && i < m_fold.rows_used &&
                    j < m_fold.cols_used) {
                    const uint64_t before = sum.sum.events;
                    sum.sum.add(int64_t{at(m_stationary, i, j)} * in.value, m_stage);
                    m_probe.overflow = m_probe.overflow || sum.sum.events != before;
                }
                at(np, i, j) = sum;
            }
        }
        m_probe.pe00 = at(np, 0, 0).sum.value;
        // Sums leaving the bottom row go to the accumulator.
        for (int64_t j = 0; j < m_C; ++j) {
            SumToken& out = at(np, m_R - 1, j);
            if (!out.valid) continue;
            if (m_bank && j < m_fold.cols_used) {
                int64_t m, n;
                output_of(j, out.index, m, n);
                m_bank->deliver(m_fold.group, m, n, out.sum, m_values->bias(m_fold.group, n));
                if (m_last_k_fold) m_bank->close(m_fold.group, m, n);
            }
            if (j == m_C - 1 && out.index == T - 1) m_finished = true;
            out.valid = false;
        }
        m_x.swap(nx);
        m_p.swap(np);
    }

    int64_t m_R, m_C;
    bool m_ws;
    const LayerWork& m_work;
    Fold m_fold;
    const OperandSource* m_values;
    CycleBank* m_bank;
    StageSpec m_stage;
    int64_t m_k0 = 0, m_c0 = 0;
    bool m_last_k_fold = false;
    std::vector<Token> m_x;
    std::vector<SumToken> m_p;
    std::vector<int32_t> m_stationary, m_loading;
    std::vector<int32_t> m_stream;
    int64_t m_cached = -1;
    int64_t m_cycle = 0;
    bool m_finished = false;
    CycleProbe m_probe;
};

// ---- os: inputs stream right, weights stream down, each PE keeps its output
// ----------------------

class OutputStationaryFold : public FoldSim {
  public:
    OutputStationaryFold(const ArraySpec& a, const AccumulatorSpec& acc, TimingConvention conv,
                         const LayerWork& w, const Fold& f, const OperandSource* values,
                         CycleBank* bank)
        : m_R(a.rows),
          m_C(a.cols),
          m_drain(conv == TimingConvention::native),
          m_work(w),
          m_fold(f),
          m_values(values),
          m_bank(bank),
          m_stage(acc.stages.front()) {
        m_m0 = f.row_fold * a.rows;
        m_n0 = f.col_fold * a.cols;
        m_tile = acc.stages.size() > 1 ? *acc.stages.front().length : w.k;
        m_x.assign(m_R * m_C, Token{});
        m_w.assign(m_R * m_C, Token{});
        m_acc.assign(m_R * m_C, PartialSum{});
        m_count.assign(m_R * m_C, 0);
        if (values) {
            m_xs.resize(static_cast<std::size_t>(f.rows_used * w.k));
            m_qs.resize(static_cast<std::size_t>(f.cols_used * w.k));
            for (int64_t i = 0; i < f.rows_used; ++i)
                values->x(f.group, m_m0 + i, 0, w.k, m_xs.data() + i * w.k);
            for (int64_t j = 0; j < f.cols_used; ++j)
                values->q(f.group, m_n0 + j, 0, w.k, m_qs.data() + j * w.k);
            for (int64_t i = 0; i < f.rows_used; ++i)
                for (int64_t j = 0; j < f.cols_used; ++j)
                    at(m_acc, i, j) =
                        bank->start(f.group, m_m0 + i, m_n0 + j, values->bias(f.group, m_n0 + j));
        }
    }

    void step() override {
        const int64_t c = m_cycle;
        const int64_t T = m_work.k;
        const int64_t last_mac = T + m_R + m_C - 3;  // PE (R-1, C-1) takes product T-1
        m_probe = CycleProbe{};
        if (c <= last_mac) {
            mac_cycle(c);
        } else {
            // Drain: the results shift down and out, the bottom row first.
            const int64_t row = m_R - 1 - (c - last_mac - 1);
            if (row >= 0) close_row(row);
        }
        m_probe.pe00 = at(m_acc, 0, 0).value;
        ++m_cycle;
        if (m_cycle == last_mac + 1 && !m_drain) {
            for (int64_t row = m_R - 1; row >= 0; --row) close_row(row);
            m_finished = true;
        }
        if (m_drain && m_cycle == last_mac + 1 + m_R) m_finished = true;
    }

    bool done() const override { return m_finished; }
    const CycleProbe& probe() const override { return m_probe; }

  private:
    template <typename T>
    T& at(std::vector<T>& v, int64_t i, int64_t j) {
        return v[static_cast<std::size_t>(i * m_C + j)];
    }

    void mac_cycle(int64_t c) {
        const int64_t T = m_work.k;
        std::vector<Token> nx(m_x.size()), nw(m_w.size());
        for (int64_t i = 0; i < m_R; ++i) {
            for (int64_t j = 0; j < m_C; ++j) {
                Token x, w;
                if (j > 0)
                    x = at(m_x, i, j - 1);
                else if (c - i >= 0 && c - i < T)
                    x = Token{true, c - i, value_x(i, c - i)};
                if (i > 0)
                    w = at(m_w, i - 1, j);
                else if (c - j >= 0 && c - j < T)
                    w = Token{true, c - j, value_q(j, c - j)};
                at(nx, i, j) = x;
                at(nw, i, j) = w;
                if (j == 0 && x.valid) m_probe.row_valid |= uint64_t{1} << std::min<int64_t>(i, 63);
                if (!(x.valid && w.valid) || !m_values || i >= m_fold.rows_used ||
                    j >= m_fold.cols_used)
                    continue;
                PartialSum& acc = at(m_acc, i, j);
                const uint64_t before = acc.events;
                acc.add(int64_t{w.value} * x.value, m_stage);
                m_probe.overflow = m_probe.overflow || acc.events != before;
                // With later stages, the PE hands on its tile of `length` products.
                int64_t& count = at(m_count, i, j);
                ++count;
                if (!m_bank->single_stage() && (count == m_tile || x.index == T - 1)) {
                    m_bank->deliver(m_fold.group, m_m0 + i, m_n0 + j, acc,
                                    m_values->bias(m_fold.group, m_n0 + j));
                    acc = PartialSum{};
                    count = 0;
                }
            }
        }
        m_x.swap(nx);
        m_w.swap(nw);
    }

    void close_row(int64_t i) {
        if (!m_bank || i >= m_fold.rows_used) return;
        for (int64_t j = 0; j < m_fold.cols_used; ++j) {
            if (m_bank->single_stage())
                m_bank->deliver(m_fold.group, m_m0 + i, m_n0 + j, at(m_acc, i, j),
                                m_values->bias(m_fold.group, m_n0 + j));
            m_bank->close(m_fold.group, m_m0 + i, m_n0 + j);
        }
    }

    int32_t value_x(int64_t i, int64_t k) const {
        return m_values && i < m_fold.rows_used ? m_xs[static_cast<std::size_t>(i * m_work.k + k)]
                                                : 0;
    }
    int32_t value_q(int64_t j, int64_t k) const {
        return m_values && j < m_fold.cols_used ? m_qs[static_cast<std::size_t>(j * m_work.k + k)]
                                                : 0;
    }

    int64_t m_R, m_C;
    bool m_drain;
    const LayerWork& m_work;
    Fold m_fold;
    const OperandSource* m_values;
    CycleBank* m_bank;
    StageSpec m_stage;
    int64_t m_m0 = 0, m_n0 = 0, m_tile = 0;
    std::vector<Token> m_x, m_w;
    std::vector<PartialSum> m_acc;
    std::vector<int64_t> m_count;
    std::vector<int32_t> m_xs, m_qs;
    int64_t m_cycle = 0;
    bool m_finished = false;
    CycleProbe m_probe;
};

// ---- vector unit: every cycle each PE lane adds SIMD products in its adder tree -----------------

class VectorFold : public FoldSim {
  public:
    VectorFold(const ArraySpec& a, const AccumulatorSpec& acc, const LayerWork& w, const Fold& f,
               const OperandSource* values, CycleBank* bank)
        : m_simd(a.simd),
          m_work(w),
          m_fold(f),
          m_values(values),
          m_bank(bank),
          m_stage(acc.stages.front()) {
        m_n0 = f.col_fold * a.pe;
        m_chunks = (w.k + a.simd - 1) / a.simd;
        if (values) {
            m_qs.resize(static_cast<std::size_t>(f.cols_used * w.k));
            for (int64_t j = 0; j < f.cols_used; ++j)
                values->q(f.group, m_n0 + j, 0, w.k, m_qs.data() + j * w.k);
            m_x.resize(static_cast<std::size_t>(w.k));
        }
    }

    void step() override {
        m_probe = CycleProbe{};
        const int64_t m = m_cycle / m_chunks, chunk = m_cycle % m_chunks;
        const int64_t k0 = chunk * m_simd, k1 = std::min(m_work.k, k0 + m_simd);
        m_probe.row_valid = 1;
        if (m_values) {
            if (chunk == 0) m_values->x(m_fold.group, m, 0, m_work.k, m_x.data());
            for (int64_t j = 0; j < m_fold.cols_used; ++j) {
                const PartialSum tree = tree_sum(m_qs.data() + j * m_work.k, k0, k1);
                m_probe.overflow = m_probe.overflow || tree.events > 0;
                if (j == 0) m_probe.pe00 = tree.value;
                const std::optional<int64_t> bias = m_values->bias(m_fold.group, m_n0 + j);
                m_bank->deliver(m_fold.group, m, m_n0 + j, tree, bias);
                if (chunk + 1 == m_chunks) m_bank->close(m_fold.group, m, m_n0 + j);
            }
        }
        ++m_cycle;
    }

    bool done() const override { return m_cycle == m_work.m * m_chunks; }
    const CycleProbe& probe() const override { return m_probe; }

  private:
    // The PE's adder tree over q[k0..k1) x x[k0..k1): every product loaded into the stage's
    // register width, then neighbours added level by level (an odd last one passes up).
    PartialSum tree_sum(const int32_t* q, int64_t k0, int64_t k1) {
        PartialSum s;
        m_level.clear();
        m_exact.clear();
        for (int64_t k = k0; k < k1; ++k) {
            const int64_t p = int64_t{q[k]} * m_x[static_cast<std::size_t>(k)];
            const Fitted f = fit(p, m_stage.bits, m_stage.overflow);
            s.events += f.event;
            m_level.push_back(f.value);
            m_exact.push_back(p);
            s.observed.include(p);
        }
        while (m_level.size() > 1) {
            std::size_t w = 0;
            for (std::size_t i = 0; i + 1 < m_level.size(); i += 2) {
                const Fitted f =
                    fit(i128{m_level[i]} + m_level[i + 1], m_stage.bits, m_stage.overflow);
                s.events += f.event;
                m_exact[w] = m_exact[i] + m_exact[i + 1];
                s.observed.include(m_exact[w]);
                m_level[w++] = f.value;
            }
            if (m_level.size() % 2) {
                m_exact[w] = m_exact.back();
                m_level[w++] = m_level.back();
            }
            m_level.resize(w);
            m_exact.resize(w);
        }
        s.value = m_level.front();
        s.exact = m_exact.front();
        return s;
    }

    int64_t m_simd;
    const LayerWork& m_work;
    Fold m_fold;
    const OperandSource* m_values;
    CycleBank* m_bank;
    StageSpec m_stage;
    int64_t m_n0 = 0, m_chunks = 0;
    std::vector<int32_t> m_qs, m_x;
    std::vector<int64_t> m_level;
    std::vector<i128> m_exact;
    int64_t m_cycle = 0;
    CycleProbe m_probe;
};

}  // namespace

std::unique_ptr<FoldSim> make_fold_sim(const ArraySpec& array, const AccumulatorSpec& acc,
                                       TimingConvention convention, const LayerWork& work,
                                       const Fold& fold, const OperandSource* values,
                                       CycleBank* bank) {
    return array_kind_model(array.kind).fold_sim(array, acc, convention, work, fold, values, bank);
}

std::unique_ptr<FoldSim> make_column_fold(const ArraySpec& a, const AccumulatorSpec& acc,
                                          const LayerWork& w, const Fold& f,
                                          const OperandSource* values, CycleBank* bank) {
    return std::make_unique<ColumnFold>(a, acc, w, f, values, bank);
}

std::unique_ptr<FoldSim> make_output_stationary_fold(const ArraySpec& a, const AccumulatorSpec& acc,
                                                     TimingConvention convention,
                                                     const LayerWork& w, const Fold& f,
                                                     const OperandSource* values, CycleBank* bank) {
    return std::make_unique<OutputStationaryFold>(a, acc, convention, w, f, values, bank);
}

std::unique_ptr<FoldSim> make_vector_fold(const ArraySpec& a, const AccumulatorSpec& acc,
                                          const LayerWork& w, const Fold& f,
                                          const OperandSource* values, CycleBank* bank) {
    return std::make_unique<VectorFold>(a, acc, w, f, values, bank);
}

}  // namespace accsim
