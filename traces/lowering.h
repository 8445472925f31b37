#pragma once
// Lowers a layer to dot products (traces/FORMAT.md, "The order of additions"). Outputs are
// grouped by *position*: all outputs of one position share the same input vector x and differ
// in their weights q (linear: a row; conv2d: batch, group and output pixel; matmul: batch and
// row m).
#include <cstdint>
#include <string>
#include <vector>
#include "datapath/enum_names.h"

#include "datapath/tensor_values.h"
#include "trace.h"

namespace accsim {

// The order in which a conv2d's dot product runs over (c, kh, kw) within a group.
enum class KOrder { c_kh_kw, kh_kw_c };
inline constexpr EnumName<KOrder> k_k_order_names[] = {{KOrder::c_kh_kw, "c_kh_kw"},
                                                       {KOrder::kh_kw_c, "kh_kw_c"}};
inline const char* to_string(KOrder v) {
    return name_of(k_k_order_names, v);
}

class LoweredLayer {
  public:
    // Reads the layer's operand tensors (one copy, as int32) and orders the weights.
    LoweredLayer(const LayerSpec& layer, KOrder k_order);

    const LayerSpec& layer() const { return m_layer; }
    int64_t k() const { return m_k; }
    int64_t positions() const { return m_positions; }
    int64_t per_position() const { return m_per_position; }

    // x[0..k) of a position, in dot-product order (conv2d padding holds the zero point).
    void gather_x(int64_t pos, int32_t* x) const;
    // q[0..k) of the j-th output of a position: a row of the ordered weight matrix for static
    // weights, or the rhs column (gathered into `scratch`) for matmul.
    const int32_t* q(int64_t pos, int64_t j, int32_t* scratch) const;
    // Weights of output channel c in dot-product order (static weights only).
    const int32_t* weights(int64_t c) const { return m_weights.data() + c * m_k; }
    // The output channel (bias and scale index) and the flat index into the output tensor.
    int64_t channel(int64_t pos, int64_t j) const;
    int64_t output_index(int64_t pos, int64_t j) const;

  private:
    const LayerSpec& m_layer;
    KOrder m_order;
    int64_t m_k = 0;
    int64_t m_positions = 0;
    int64_t m_per_position = 0;
    TensorValues<int32_t> m_x;        // input (or lhs) tensor, as stored
    TensorValues<int32_t> m_weights;  // [channels, k] in dot-product order (static weights)
    TensorValues<int32_t> m_rhs;      // matmul rhs, as stored
    std::vector<int64_t> m_lhs_batch, m_rhs_batch;  // per output batch: the operands' batch index
};

// An operand tensor as int32: integer codes as values, float codes as their bit patterns.
TensorValues<int32_t> read_int32(const TensorRef& t);
std::vector<int64_t> read_int64(const TensorRef& t);

}  // namespace accsim
