#pragma once
// A layer as the timing models see it: `groups` independent GEMMs (conv groups, matmul
// batches, run one after another), each of M output positions x N output channels x dot
// length K, with the operand widths that set the bytes moved.
#include <cstdint>
#include <string>

namespace accsim {

struct LayerWork {
    std::string name;
    int64_t groups = 1;
    int64_t m = 0;   // output positions per group (pixels x batch, rows, tokens)
    int64_t n = 0;   // output channels per group
    int64_t k = 0;   // dot length
    int x_bits = 8;  // input (lhs) operand width
    int w_bits = 8;  // weight (rhs) operand width
    // Unique elements of each operand across all groups (a conv's input is smaller than its
    // im2col matrix: DRAM moves the tensor, the array reads the windows).
    int64_t ifmap_elements = 0;
    int64_t filter_elements = 0;

    int64_t macs() const { return groups * m * n * k; }
    int64_t outputs() const { return groups * m * n; }
};

}  // namespace accsim
