#include "fpga_resources.h"

#include "models/array_kind.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace accsim {

namespace {

double ceil_div(double a, double b) {
    return std::ceil(a / b);
}

// A memory of `width` x `depth` bits in the given kind of RAM.
FpgaCount memory_blocks(double width, double depth, WeightMemory kind) {
    FpgaCount c;
    switch (kind) {
        case WeightMemory::bram:
            c.bram18 = bram18_blocks(width, depth);
            break;
        case WeightMemory::uram:
            c.uram = ceil_div(width, 72) * ceil_div(depth, 4096);
            break;
        case WeightMemory::lutram:
            c.lut = width * ceil_div(depth, 64);
            break;
    }
    return c;
}

}  // namespace

FpgaCount fpga_buffer(const BufferSpec& b, WeightMemory kind) {
    const double width = std::ceil(b.bandwidth * 8);
    const double depth = ceil_div(b.bytes() * 8, width);
    return memory_blocks(width, depth, kind);
}

FpgaCount fpga_multiplier(const FpgaSpec& f, int product_bits) {
    FpgaCount c;
    if (f.multipliers == MultiplierStyle::dsp)
        c.dsp = ceil_div(product_bits, 48);
    else
        c.lut = (2 * ceil_div(product_bits, 6) - 1) * product_bits;
    return c;
}

double fpga_tree_luts(int64_t leaves, int product_bits, int cap) {
    double luts = static_cast<double>(leaves) * std::min(product_bits, cap);
    int64_t nodes = leaves;
    for (int level = 1; nodes > 1; ++level) {
        const int64_t adders = nodes / 2;
        luts += static_cast<double>(adders) * std::min(product_bits + level, cap);
        nodes -= adders;  // an odd last node passes up
    }
    return luts;
}

FpgaCount fpga_thresholds(const FpgaSpec& f, int acc_bits, double units) {
    FpgaCount c;
    if (!f.thresholds) return c;
    const double levels = std::ldexp(1.0, f.thresholds->output_bits) - 1;
    const double thr = levels * acc_bits * ceil_div(static_cast<double>(f.thresholds->depth), 64);
    const double comp = levels * acc_bits;
    c.lut = units * (thr + comp);
    return c;
}

void add_fpga_buffers(const MemorySpec& m, const FpgaSpec& f, FpgaResources& r) {
    r.ifmap = fpga_buffer(m.ifmap, WeightMemory::bram);
    r.filter = fpga_buffer(m.filter, f.weights);
    r.ofmap = fpga_buffer(m.ofmap, WeightMemory::bram);
}

double fpga_control_luts(const FpgaResources& r) {
    double datapath = r.multiply.lut + r.thresholds.lut;
    for (const FpgaCount& s : r.stages) datapath += s.lut;
    return std::floor(300 + 0.1 * datapath + 1e-9);  // FINN truncates its sum
}

double bram18_blocks(double w, double d) {
    if (w <= 0 || d <= 0) return 0;
    if (w == 1) return ceil_div(d, 16384);
    if (w == 2) return ceil_div(d, 8192);
    if (w <= 4) return ceil_div(d, 4096) * ceil_div(w, 4);
    if (w <= 9) return ceil_div(d, 2048) * ceil_div(w, 9);
    if (w <= 18 || d > 512) return ceil_div(d, 1024) * ceil_div(w, 18);
    return ceil_div(d, 512) * ceil_div(w, 36);
}

FpgaCount FpgaResources::total() const {
    FpgaCount t;
    t.add(multiply);
    for (const FpgaCount& s : stages) t.add(s);
    t.add(thresholds);
    t.add(control);
    t.add(ifmap);
    t.add(filter);
    t.add(ofmap);
    return t;
}

FpgaResources estimate_fpga(const ArraySpec& a, const MemorySpec& m, const AccumulatorSpec& acc,
                            const FpgaSpec& f, int x_bits, int w_bits) {
    return array_kind_model(a.kind).fpga_resources(a, m, acc, f, x_bits, w_bits);
}

}  // namespace accsim
