#include "static_bounds.h"

#include <algorithm>

#include "bounds.h"

namespace accsim {

ExactRange exact_range(const int32_t* q, int64_t n, const OperandFormat& x) {
    ExactRange r;
    for (int64_t i = 0; i < n; ++i) {
        const i128 a = i128{q[i]} * x.min();
        const i128 b = i128{q[i]} * x.max();
        r.lo += std::min(a, b);
        r.hi += std::max(a, b);
    }
    return r;
}

StaticBounds::StaticBounds(const OperandFormat& x, const OperandFormat& q, int64_t k,
                           const AccumulatorSpec& acc)
    : m_x(x), m_k(k), m_acc(acc), m_datatype_bits(accsim::datatype_bits(k, x, q)) {
    m_acc.check();
    for (std::size_t j = 0; j < m_acc.stages.size(); ++j) m_spans.push_back(m_acc.span(j, k));
    m_stages.resize(m_acc.stages.size());
}

void StaticBounds::add_channel(const int32_t* q, int64_t bias) {
    ++m_channels;
    u128 l1 = 0;
    for (int64_t i = 0; i < m_k; ++i) l1 += abs_u128(q[i]);
    m_a2q_bits = std::max(m_a2q_bits, accsim::a2q_bits(l1, m_x));
    const int plus = accsim::a2q_plus_bits(l1, m_x);
    m_a2q_plus_bits = std::max(m_a2q_plus_bits, plus);
    const i128 b = m_acc.bias == BiasMode::none ? 0 : bias;

    bool at_risk = false;
    int channel_exact = 1;
    for (std::size_t j = 0; j < m_stages.size(); ++j) {
        StageStaticBounds& st = m_stages[j];
        const int bits = m_acc.stages[j].bits;
        const bool last = j + 1 == m_stages.size();
        for (int64_t t = 0; t < m_k; t += m_spans[j]) {
            const ExactRange r = exact_range(q + t, std::min(m_spans[j], m_k - t), m_x);
            const int need = signed_bits(r.lo, r.hi);
            st.exact_bits = std::max(st.exact_bits, need);
            channel_exact = std::max(channel_exact, need);
            // The last stage also holds the bias: whether it comes first or last, every value
            // its register takes lies in [S-, S+] or in [S- + b, S+ + b].
            const int need_with_bias =
                last ? signed_bits(std::min(r.lo, r.lo + b), std::max(r.hi, r.hi + b)) : need;
            if (last) m_exact_with_bias = std::max(m_exact_with_bias, need_with_bias);
            ++st.tiles;
            if (need_with_bias > bits) {
                ++st.tiles_at_risk;
                at_risk = true;
            }
        }
    }
    m_channels_at_risk += at_risk;
    m_a2q_plus_unsound += plus < channel_exact;
}

}  // namespace accsim
