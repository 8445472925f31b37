#include "lowering.h"

namespace accsim {

TensorValues<int32_t> read_int32(const TensorRef& t) {
    TensorValues<int32_t> out(static_cast<std::size_t>(t.info->numel));
    if (is_float_code_dtype(t.info->dtype))  // float operands travel as their stored codes
        read_codes(*t.info, reinterpret_cast<uint32_t*>(out.data()));
    else
        read_ints(*t.info, out.data());
    return out;
}

std::vector<int64_t> read_int64(const TensorRef& t) {
    std::vector<int64_t> out(static_cast<std::size_t>(t.info->numel));
    read_ints(*t.info, out.data());
    return out;
}

namespace {

// For each index of the broadcast batch shape, the flat batch index into an operand whose
// own batch shape is `own` (right-aligned, size-1 dimensions repeat).
std::vector<int64_t> broadcast_index(const std::vector<int64_t>& out,
                                     const std::vector<int64_t>& own) {
    int64_t total = 1;
    for (int64_t e : out) total *= e;
    std::vector<int64_t> map(static_cast<std::size_t>(total));
    const std::size_t lead = out.size() - own.size();
    for (int64_t i = 0; i < total; ++i) {
        int64_t rem = i, idx = 0, stride = 1;
        for (std::size_t d = out.size(); d-- > 0;) {
            const int64_t coord = rem % out[d];
            rem /= out[d];
            if (d >= lead) {
                const int64_t e = own[d - lead];
                idx += (e == 1 ? 0 : coord) * stride;
                stride *= e;
            }
        }
        map[i] = idx;
    }
    return map;
}

}  // namespace

LoweredLayer::LoweredLayer(const LayerSpec& layer, KOrder k_order)
    : m_layer(layer), m_order(k_order), m_k(layer.shape.k) {
    const LayerShape& sh = layer.shape;
    m_x = read_int32(layer.x.tensor);
    switch (layer.op) {
        case LayerOp::linear:
            m_positions = sh.rows;
            m_per_position = sh.channels;
            m_weights = read_int32(layer.q.tensor);
            break;
        case LayerOp::conv2d: {
            const int64_t groups = layer.conv.groups;
            m_positions = sh.batch * groups * sh.out_h * sh.out_w;
            m_per_position = sh.channels / groups;
            TensorValues<int32_t> w = read_int32(layer.q.tensor);  // [C_out, Cg, kH, kW]
            if (k_order == KOrder::c_kh_kw) {
                m_weights = std::move(w);
            } else {
                const int64_t cg = sh.c_in / groups, kh = sh.kernel_h, kw = sh.kernel_w;
                m_weights.resize(w.size());
                for (int64_t o = 0; o < sh.channels; ++o)
                    for (int64_t c = 0; c < cg; ++c)
                        for (int64_t y = 0; y < kh; ++y)
                            for (int64_t x = 0; x < kw; ++x)
                                m_weights[o * m_k + (y * kw + x) * cg + c] =
                                    w[o * m_k + (c * kh + y) * kw + x];
            }
            break;
        }
        case LayerOp::matmul: {
            int64_t batches = 1;
            for (int64_t e : sh.batch_shape) batches *= e;
            m_positions = batches * sh.rows;
            m_per_position = sh.channels;
            m_rhs = read_int32(layer.q.tensor);
            m_lhs_batch = broadcast_index(sh.batch_shape, sh.lhs_batch_shape);
            m_rhs_batch = broadcast_index(sh.batch_shape, sh.rhs_batch_shape);
            break;
        }
    }
}

void LoweredLayer::gather_x(int64_t pos, int32_t* x) const {
    const LayerShape& sh = m_layer.shape;
    switch (m_layer.op) {
        case LayerOp::linear: {
            const int32_t* row = m_x.data() + pos * m_k;
            std::copy(row, row + m_k, x);
            return;
        }
        case LayerOp::matmul: {
            const int64_t b = pos / sh.rows, m = pos % sh.rows;
            const int32_t* row = m_x.data() + (m_lhs_batch[b] * sh.rows + m) * m_k;
            std::copy(row, row + m_k, x);
            return;
        }
        case LayerOp::conv2d: {
            const Conv2dParams& p = m_layer.conv;
            const int64_t ow = pos % sh.out_w;
            const int64_t oh = (pos / sh.out_w) % sh.out_h;
            const int64_t g = (pos / (sh.out_w * sh.out_h)) % p.groups;
            const int64_t b = pos / (sh.out_w * sh.out_h * p.groups);
            const int64_t cg = sh.c_in / p.groups;
            const int32_t pad = static_cast<int32_t>(m_layer.x.zero_point);
            for (int64_t c = 0; c < cg; ++c) {
                const int32_t* plane =
                    m_x.data() + ((b * sh.c_in) + g * cg + c) * sh.height * sh.width;
                for (int64_t y = 0; y < sh.kernel_h; ++y) {
                    const int64_t ih = oh * p.stride_h - p.pad_top + y * p.dilation_h;
                    for (int64_t xk = 0; xk < sh.kernel_w; ++xk) {
                        const int64_t iw = ow * p.stride_w - p.pad_left + xk * p.dilation_w;
                        const bool inside = ih >= 0 && ih < sh.height && iw >= 0 && iw < sh.width;
                        const int64_t k = m_order == KOrder::c_kh_kw
                                              ? (c * sh.kernel_h + y) * sh.kernel_w + xk
                                              : (y * sh.kernel_w + xk) * cg + c;
                        x[k] = inside ? plane[ih * sh.width + iw] : pad;
                    }
                }
            }
            return;
        }
    }
}

const int32_t* LoweredLayer::q(int64_t pos, int64_t j, int32_t* scratch) const {
    if (m_layer.op != LayerOp::matmul) return weights(channel(pos, j));
    const LayerShape& sh = m_layer.shape;
    const int64_t b = pos / sh.rows;
    const int32_t* base = m_rhs.data() + m_rhs_batch[b] * m_k * sh.channels + j;
    for (int64_t k = 0; k < m_k; ++k) scratch[k] = base[k * sh.channels];
    return scratch;
}

int64_t LoweredLayer::channel(int64_t pos, int64_t j) const {
    if (m_layer.op != LayerOp::conv2d) return j;
    const int64_t g = (pos / (m_layer.shape.out_w * m_layer.shape.out_h)) % m_layer.conv.groups;
    return g * m_per_position + j;
}

int64_t LoweredLayer::output_index(int64_t pos, int64_t j) const {
    const LayerShape& sh = m_layer.shape;
    if (m_layer.op != LayerOp::conv2d) return pos * sh.channels + j;
    const int64_t pix = pos % (sh.out_w * sh.out_h);
    const int64_t b = pos / (sh.out_w * sh.out_h * m_layer.conv.groups);
    return (b * sh.channels + channel(pos, j)) * sh.out_h * sh.out_w + pix;
}

}  // namespace accsim
