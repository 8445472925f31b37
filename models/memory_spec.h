#pragma once
// The memory system of a hardware configuration: three on-chip buffers (input feature map,
// filter, output feature map) and off-chip DRAM. Bandwidths are bytes per cycle of the
// array's clock; sizes are KiB.
#include <cstdint>

namespace accsim {

struct BufferSpec {
    double size_kb = 0;           // capacity, KiB
    double bandwidth = 0;         // bytes per cycle the array can read (or write)
    bool double_buffered = true;  // the next tile loads while the current one computes
    double bytes() const { return size_kb * 1024.0; }
    // What one tile may occupy: half the buffer when double-buffered.
    double tile_capacity() const { return double_buffered ? bytes() / 2 : bytes(); }
};

struct DramSpec {
    double bandwidth = 0;        // bytes per cycle
    int64_t latency_cycles = 0;  // from request to first byte
};

struct MemorySpec {
    BufferSpec ifmap, filter, ofmap;
    DramSpec dram;
};

}  // namespace accsim
