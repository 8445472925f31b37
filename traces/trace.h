#pragma once
// Trace format v1 (traces/FORMAT.md): a manifest naming layers, their operands and bit
// widths, and the safetensors files that hold the integer data. Trace::load validates all of
// it — structure, shapes, dtypes and every stored value against its declared range — before
// anything is replayed.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>
#include "datapath/enum_names.h"

#include "datapath/float_format.h"
#include "datapath/operand_format.h"
#include "safetensors.h"

namespace accsim {

enum class LayerOp { linear, conv2d, matmul };
inline constexpr EnumName<LayerOp> k_layer_op_names[] = {
    {LayerOp::linear, "linear"}, {LayerOp::conv2d, "conv2d"}, {LayerOp::matmul, "matmul"}};
inline const char* to_string(LayerOp v) {
    return name_of(k_layer_op_names, v);
}

struct TensorRef {
    std::string name;
    const SafetensorsFile* file = nullptr;
    const TensorInfo* info = nullptr;
    const std::vector<int64_t>& shape() const { return info->shape; }
};

// Block scales along K (float layers, datapath/FLOAT.md): one value per `block` products of a
// row (input) or of `block_channels` output channels (weight).
struct BlockScaleSpec {
    TensorRef tensor;
    int64_t block = 0;
    int64_t block_channels = 1;  // weights only
    bool e8m0 = false;           // U8 exponent codes 2^(code-127), 255 = NaN; else F32 values
};

struct OperandSpec {
    std::string role;  // input, weight, lhs, rhs
    TensorRef tensor;
    OperandFormat format;                       // integer operands
    const FloatFormat* float_format = nullptr;  // float operands ("format"); codes as stored
    std::optional<BlockScaleSpec> block_scale;
    int64_t zero_point = 0;
    std::optional<double> scale;            // one number
    std::optional<TensorRef> scale_tensor;  // F32: one value, or one per output channel
    int64_t min_value = 0;                  // smallest and largest value stored
    int64_t max_value = 0;

    // Bits of one stored element: the integer width, or the float format's storage.
    int stored_bits() const { return float_format ? float_format->storage_bits : format.bits; }
};

struct BiasSpec {
    TensorRef tensor;
    int bits = 32;
    int64_t min_value = 0;
    int64_t max_value = 0;
};

struct Conv2dParams {
    int64_t stride_h = 1, stride_w = 1;
    int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
    int64_t dilation_h = 1, dilation_w = 1;
    int64_t groups = 1;
};

// Sizes derived from the tensors once they are validated.
struct LayerShape {
    int64_t k = 0;         // dot length
    int64_t channels = 0;  // output channels (linear: out, conv2d: C_out, matmul: N)
    int64_t outputs = 0;   // dot products
    std::vector<int64_t> output_shape;
    // conv2d
    int64_t batch = 0, c_in = 0, height = 0, width = 0, kernel_h = 0, kernel_w = 0;
    int64_t out_h = 0, out_w = 0;
    // linear: rows; matmul: m
    int64_t rows = 0;
    // matmul: broadcast batch shape, and each side's own batch shape
    std::vector<int64_t> batch_shape, lhs_batch_shape, rhs_batch_shape;
};

struct LayerSpec {
    std::size_t index = 0;
    std::string name;
    LayerOp op = LayerOp::linear;
    OperandSpec x;  // input (linear, conv2d) or lhs (matmul)
    OperandSpec q;  // weight (linear, conv2d) or rhs (matmul)
    std::optional<BiasSpec> bias;
    std::optional<TensorRef> output;
    Conv2dParams conv;
    LayerShape shape;

    bool has_static_weights() const { return op != LayerOp::matmul; }
    // Float operands (both sides declare "format").
    bool is_float() const { return x.float_format != nullptr; }
    bool has_block_scales() const { return x.block_scale || q.block_scale; }
    int64_t macs() const { return shape.outputs * shape.k; }
};

class Trace {
  public:
    // `path`: the trace directory (or its manifest.json). Throws InputError on any problem.
    static Trace load(const std::string& path);

    const std::string& dir() const { return m_dir; }
    const std::string& manifest_path() const { return m_manifest_path; }
    const std::string& model() const { return m_model; }
    const std::string& source() const { return m_source; }
    const nlohmann::json& manifest() const { return m_manifest; }
    const std::vector<LayerSpec>& layers() const { return m_layers; }
    std::vector<std::string> tensor_files() const;

  private:
    std::string m_dir;
    std::string m_manifest_path;
    std::string m_model;
    std::string m_source;
    nlohmann::json m_manifest;
    std::vector<std::unique_ptr<SafetensorsFile>> m_files;
    std::vector<LayerSpec> m_layers;

    friend class TraceLoader;
};

// "[2, 3, 4]" (`sep` between the numbers), and the index "[0, 1, 2]" of flat element i of a
// tensor of shape s; both for messages.
std::string shape_string(const std::vector<int64_t>& s, const char* sep = ", ");
std::string index_string(const std::vector<int64_t>& s, int64_t i);

// Largest dot length accepted: keeps every exact sum far inside 128-bit arithmetic and every
// error figure inside 64 bits.
inline constexpr int64_t k_max_dot_length = int64_t{1} << 28;
// Largest layer accepted: far beyond any real layer, small enough that counts stay exact.
inline constexpr int64_t k_max_outputs = int64_t{1} << 40;
inline constexpr int64_t k_max_macs = int64_t{1} << 50;
inline constexpr std::size_t k_max_name_length = 1024;

}  // namespace accsim
