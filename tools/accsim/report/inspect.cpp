#include "report/inspect.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

namespace accsim {
namespace {

// A float operand: its format, the range of its finite values, and whether it holds infinities
// or NaNs and block scales.
std::string float_operand(const OperandSpec& o) {
    const FloatFormat& f = *o.float_format;
    double lo = 0, hi = 0;
    bool inf = false, nan = false, any = false;
    for (int64_t i = 0; i < o.tensor.info->numel; ++i) {
        const double v = f.to_double(read_code(*o.tensor.info, i));
        if (std::isnan(v)) {
            nan = true;
        } else if (std::isinf(v)) {
            inf = true;
        } else {
            lo = any ? std::min(lo, v) : v;
            hi = any ? std::max(hi, v) : v;
            any = true;
        }
    }
    std::ostringstream r;
    r << std::setprecision(4) << lo << ".." << hi;
    return o.role + " " + shape_string(o.tensor.shape(), ",") + " " + f.name + " " + r.str() +
           (inf ? " inf" : "") + (nan ? " nan" : "") +
           (o.block_scale ? " blocks of " + std::to_string(o.block_scale->block) : "");
}

std::string operand(const OperandSpec& o) {
    if (o.float_format) return float_operand(o);
    return o.role + " " + shape_string(o.tensor.shape(), ",") + " " +
           (o.format.is_signed ? "i" : "u") + std::to_string(o.format.bits) + " " +
           std::to_string(o.min_value) + ".." + std::to_string(o.max_value) +
           (o.zero_point ? " zp " + std::to_string(o.zero_point) : "");
}

}  // namespace

std::string render_inspect(const Trace& trace, const std::vector<const LayerSpec*>& layers) {
    std::ostringstream out;
    out << "trace   " << trace.dir() << "\nmodel   " << trace.model() << "\n";
    if (!trace.source().empty()) out << "source  " << trace.source() << "\n";
    for (const std::string& f : trace.tensor_files()) out << "tensors " << f << "\n";
    out << "layers  " << trace.layers().size() << "\n\n";

    std::vector<std::vector<std::string>> rows;
    rows.push_back({"layer", "op", "K", "outputs", "MACs", "x (shape, bits, values)",
                    "q (shape, bits, values)", "bias", "output"});
    int64_t macs = 0;
    for (const LayerSpec* l : layers) {
        std::string extra;
        if (l->op == LayerOp::conv2d) {
            const Conv2dParams& p = l->conv;
            extra = " s" + std::to_string(p.stride_h) + "x" + std::to_string(p.stride_w) + " p" +
                    std::to_string(p.pad_top) + "," + std::to_string(p.pad_left) + "," +
                    std::to_string(p.pad_bottom) + "," + std::to_string(p.pad_right) +
                    (p.dilation_h * p.dilation_w > 1
                         ? " d" + std::to_string(p.dilation_h) + "x" + std::to_string(p.dilation_w)
                         : "") +
                    (p.groups > 1 ? " g" + std::to_string(p.groups) : "");
        }
        const std::string bias = l->bias ? "i" + std::to_string(l->bias->bits) + " " +
                                               std::to_string(l->bias->min_value) + ".." +
                                               std::to_string(l->bias->max_value)
                                         : "-";
        rows.push_back({l->name, std::string(to_string(l->op)) + extra, std::to_string(l->shape.k),
                        std::to_string(l->shape.outputs), std::to_string(l->macs()), operand(l->x),
                        operand(l->q), bias,
                        l->output ? shape_string(l->output->shape(), ",") : "-"});
        macs += l->macs();
    }
    std::vector<std::size_t> width(rows[0].size(), 0);
    for (const auto& r : rows)
        for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    for (const auto& r : rows) {
        std::ostringstream line;
        for (std::size_t i = 0; i < r.size(); ++i) {
            const bool right = i >= 2 && i <= 4;
            line << (right ? std::right : std::left) << std::setw(static_cast<int>(width[i]))
                 << r[i];
            if (i + 1 < r.size()) line << "  ";
        }
        std::string text = line.str();
        text.erase(text.find_last_not_of(' ') + 1);
        out << text << "\n";
    }
    out << "\ntotal MACs " << macs << "\n";
    // Checking the recorded outputs means replaying every dot product: inspect only reads.
    std::size_t recorded = 0;
    for (const LayerSpec* l : layers) recorded += l->output.has_value();
    out << "outputs recorded by " << recorded << " of " << layers.size()
        << " layers, not checked here: `accsim audit --acc 64` replays and verifies them bit for "
           "bit\n";
    return out.str();
}

}  // namespace accsim
