#include "energy_spec.h"

#include <algorithm>
#include <cmath>

namespace accsim {

double MultiplyEnergy::at(int a, int b) const {
    switch (scaling) {
        case WidthScaling::constant:
            return pj;
        case WidthScaling::linear:
            return pj * (a + b) / static_cast<double>(a_bits + b_bits);
        case WidthScaling::quadratic: {
            const double r = std::max(a, b) / static_cast<double>(std::max(a_bits, b_bits));
            return pj * r * r;
        }
        case WidthScaling::product:
            return pj * (static_cast<double>(a) * b) / (static_cast<double>(a_bits) * b_bits);
    }
    return pj;
}

double AddEnergy::at(int b) const {
    const double r = b / static_cast<double>(bits);
    switch (scaling) {
        case WidthScaling::constant:
            return pj;
        case WidthScaling::linear:
            return pj * r;
        case WidthScaling::quadratic:
        case WidthScaling::product:
            return pj * r * r;
    }
    return pj;
}

double SramEnergy::pj_per_byte(double size_kb) const {
    const auto& p = kib_pj_per_64b;
    if (p.empty()) return 0;
    if (p.size() == 1) return p.front().second / 8;
    // The segment that holds the size, or the nearest one extended.
    std::size_t i = 1;
    while (i + 1 < p.size() && size_kb > p[i].first) ++i;
    const double x0 = std::log(p[i - 1].first), x1 = std::log(p[i].first);
    const double y0 = std::log(p[i - 1].second), y1 = std::log(p[i].second);
    const double y = y0 + (std::log(size_kb) - x0) * (y1 - y0) / (x1 - x0);
    return std::exp(y) / 8;
}

}  // namespace accsim
