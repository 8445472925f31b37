#include "static_bounds.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "bounds.h"

namespace accsim {

ExactRange exact_range(const int32_t* q, int64_t n, const OperandFormat& x) {
    // Operands of at most 16 bits and dot lengths of at most 2^28 (trace limits) keep every sum
    // below 2^60: 64-bit arithmetic is exact, and vectorizes.
    const int64_t x_lo = static_cast<int64_t>(x.min()), x_hi = static_cast<int64_t>(x.max());
    int64_t lo = 0, hi = 0;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t a = q[i] * x_lo, b = q[i] * x_hi;
        lo += a < b ? a : b;
        hi += a < b ? b : a;
    }
    ExactRange r;
    r.lo = lo;
    r.hi = hi;
    return r;
}

StaticBounds::StaticBounds(const OperandFormat& x, const OperandFormat& q, int64_t k,
                           const AccumulatorSpec& acc)
    : m_x(x), m_k(k), m_acc(acc), m_datatype_bits(accsim::datatype_bits(k, x, q)) {
    m_acc.check();
    for (std::size_t j = 0; j < m_acc.stages.size(); ++j) m_spans.push_back(m_acc.span(j, k));
    m_stages.resize(m_acc.stages.size());
    m_tile_need.assign(m_acc.stages.size(), std::vector<uint64_t>(k_widths, 0));
}

StaticBounds StaticBounds::with_widths(const AccumulatorSpec& acc) const {
    StaticBounds out = *this;
    out.m_acc = acc;
    out.m_acc.check();
    bool same = acc.stages.size() == m_acc.stages.size() && acc.bias == m_acc.bias;
    for (std::size_t j = 0; same && j < acc.stages.size(); ++j)
        same = acc.span(j, m_k) == m_spans[j];
    if (!same) throw std::logic_error("StaticBounds::with_widths: another layout");
    const std::size_t n = acc.stages.size();
    for (std::size_t j = 0; j < n; ++j) {
        out.m_stages[j].tiles_at_risk = 0;
        for (int w = acc.stages[j].bits + 1; w < k_widths; ++w)
            out.m_stages[j].tiles_at_risk += m_tile_need[j][static_cast<std::size_t>(w)];
    }
    out.m_channels_at_risk = 0;
    for (std::size_t c = 0; c < m_channel_need.size() / n; ++c) {
        bool at_risk = false;
        for (std::size_t j = 0; j < n; ++j)
            at_risk = at_risk || m_channel_need[c * n + j] > acc.stages[j].bits;
        out.m_channels_at_risk += at_risk;
    }
    return out;
}

void StaticBounds::merge(const StaticBounds& o) {
    m_channels += o.m_channels;
    m_channels_at_risk += o.m_channels_at_risk;
    m_a2q_plus_unsound += o.m_a2q_plus_unsound;
    m_a2q_bits = std::max(m_a2q_bits, o.m_a2q_bits);
    m_a2q_plus_bits = std::max(m_a2q_plus_bits, o.m_a2q_plus_bits);
    m_exact_with_bias = std::max(m_exact_with_bias, o.m_exact_with_bias);
    for (std::size_t j = 0; j < m_stages.size(); ++j) {
        m_stages[j].exact_bits = std::max(m_stages[j].exact_bits, o.m_stages[j].exact_bits);
        m_stages[j].tiles += o.m_stages[j].tiles;
        m_stages[j].tiles_at_risk += o.m_stages[j].tiles_at_risk;
        for (int w = 0; w < k_widths; ++w) m_tile_need[j][w] += o.m_tile_need[j][w];
    }
    m_channel_need.insert(m_channel_need.end(), o.m_channel_need.begin(), o.m_channel_need.end());
}

void StaticBounds::add_channel(const int32_t* q, int64_t bias) {
    ++m_channels;
    int64_t l1_sum = 0;  // < 2^16 x 2^28
    for (int64_t i = 0; i < m_k; ++i) l1_sum += q[i] < 0 ? -int64_t{q[i]} : int64_t{q[i]};
    const u128 l1 = static_cast<u128>(l1_sum);
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
        int stage_need = 1;
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
            ++m_tile_need[j][static_cast<std::size_t>(need_with_bias)];
            stage_need = std::max(stage_need, need_with_bias);
            if (need_with_bias > bits) {
                ++st.tiles_at_risk;
                at_risk = true;
            }
        }
        m_channel_need.push_back(static_cast<uint8_t>(stage_need));
    }
    m_channels_at_risk += at_risk;
    m_a2q_plus_unsound += plus < channel_exact;
}

namespace {

std::vector<int> stage_widths(const AccumulatorSpec& acc) {
    std::vector<int> bits;
    for (const StageSpec& s : acc.stages) bits.push_back(s.bits);
    return bits;
}

}  // namespace

// The constructor's arguments fix m_x, m_k, m_acc, m_spans and m_datatype_bits. The spans, the
// stage widths, the bias mode and the data-type bound travel too, only to refuse bytes saved under
// another layout, other widths or bias mode (the risk counts are the saved ones') or formats.
void StaticBounds::save(ByteWriter& w) const {
    w.put_vector(m_spans);
    w.put_vector(stage_widths(m_acc));
    w.put(m_acc.bias);
    w.put(m_datatype_bits);
    w.put(m_a2q_bits);
    w.put(m_a2q_plus_bits);
    w.put(static_cast<uint64_t>(m_stages.size()));
    for (const StageStaticBounds& st : m_stages) {
        w.put(st.exact_bits);
        w.put(st.tiles);
        w.put(st.tiles_at_risk);
    }
    w.put(m_channels);
    w.put(m_channels_at_risk);
    w.put(m_a2q_plus_unsound);
    w.put(m_exact_with_bias);
    for (const std::vector<uint64_t>& need : m_tile_need) w.put_vector(need);
    w.put_vector(m_channel_need);
}

void StaticBounds::load(ByteReader& r) {
    const auto refuse = [](const char* what) {
        throw std::runtime_error(std::string("StaticBounds::load: ") + what);
    };
    if (r.get_vector<int64_t>() != m_spans) refuse("saved under another layout");
    if (r.get_vector<int>() != stage_widths(m_acc)) refuse("saved under other stage widths");
    if (r.get<BiasMode>() != m_acc.bias) refuse("saved under another bias mode");
    if (r.get<int>() != m_datatype_bits) refuse("saved under other formats or dot length");
    // Read into a copy, so that bytes that do not parse leave this one unchanged.
    StaticBounds b = *this;
    b.m_a2q_bits = r.get<int>();
    b.m_a2q_plus_bits = r.get<int>();
    if (r.get<uint64_t>() != m_stages.size()) refuse("another stage count");
    for (StageStaticBounds& st : b.m_stages) {
        st.exact_bits = r.get<int>();
        st.tiles = r.get<uint64_t>();
        st.tiles_at_risk = r.get<uint64_t>();
    }
    b.m_channels = r.get<uint64_t>();
    b.m_channels_at_risk = r.get<uint64_t>();
    b.m_a2q_plus_unsound = r.get<uint64_t>();
    b.m_exact_with_bias = r.get<int>();
    for (std::vector<uint64_t>& need : b.m_tile_need) {
        need = r.get_vector<uint64_t>();
        if (need.size() != static_cast<std::size_t>(k_widths)) refuse("another width count");
    }
    b.m_channel_need = r.get_vector<uint8_t>();
    if (b.m_channel_need.size() != b.m_channels * m_stages.size())
        refuse("channel widths do not match the channel count");
    *this = std::move(b);
}

}  // namespace accsim
