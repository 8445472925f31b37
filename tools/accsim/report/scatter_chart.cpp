#include "report/scatter_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "report/html_text.h"

namespace accsim {

namespace {

constexpr double k_width = 560, k_height = 340;
constexpr double k_left = 64, k_right = 24, k_top = 16, k_bottom = 48;

std::string fmt(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f", v);
    return b;
}

// An axis: from data to [0, 1], with its ticks (positions in data units and labels).
struct Axis {
    bool log = false, log1p = false;
    double lo = 0, hi = 1;  // in transformed units
    double transform(double v) const {
        if (log1p) return std::log10(1 + std::max(0.0, v));
        if (log) return std::log10(std::max(v, 1e-300));
        return v;
    }
    double unit(double v) const { return hi > lo ? (transform(v) - lo) / (hi - lo) : 0.5; }
    std::vector<std::pair<double, std::string>> ticks() const {
        std::vector<std::pair<double, std::string>> t;
        if (log || log1p) {
            // Powers of ten; 2x and 5x too when the axis spans less than two decades.
            const bool fine = hi - lo < 2;
            if (log1p) t.emplace_back(0, "0");
            for (int e = static_cast<int>(std::floor(lo)); e <= static_cast<int>(std::ceil(hi));
                 ++e)
                for (double m : {1.0, 2.0, 5.0}) {
                    if (m != 1.0 && !fine) continue;
                    const double v = m * std::pow(10.0, e), tv = transform(v);
                    if (tv >= lo - 1e-9 && tv <= hi + 1e-9 && !(log1p && v < 1))
                        t.emplace_back(v, format_si(v));
                }
            return t;
        }
        const double span = hi - lo;
        const double raw = span / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
        const double step = raw / mag < 1.5   ? mag
                            : raw / mag < 3.5 ? 2 * mag
                            : raw / mag < 7.5 ? 5 * mag
                                              : 10 * mag;
        // Enough digits that neighbouring ticks differ (1.305, 1.31, 1.315 mJ).
        const double top = std::max(std::abs(lo), std::abs(hi));
        const int digits = std::max(
            2, static_cast<int>(std::floor(std::log10(top)) - std::floor(std::log10(step))) + 1);
        for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
            const double tick = std::abs(v) < step * 1e-9 ? 0 : v;
            t.emplace_back(
                tick, top >= 1e4 && digits <= 3 ? format_si(tick) : format_number(tick, digits));
        }
        return t;
    }
};

Axis make_axis(const std::vector<double>& values, bool log, bool log1p) {
    Axis a;
    a.log = log;
    a.log1p = log1p;
    std::vector<double> tv;
    for (double v : values) tv.push_back(a.transform(v));
    a.lo = *std::min_element(tv.begin(), tv.end());
    a.hi = *std::max_element(tv.begin(), tv.end());
    if (log1p) a.lo = 0;
    if (a.hi - a.lo < 1e-12) {
        const double pad = log || log1p ? 0.5 : std::max(1.0, std::abs(a.hi) * 0.05);
        a.lo -= log1p ? 0 : pad;
        a.hi += pad;
    } else {
        const double pad = (a.hi - a.lo) * 0.05;
        a.hi += pad;
        if (!log1p) a.lo -= pad;
    }
    return a;
}

}  // namespace

ScatterChart::ScatterChart(std::string x_axis, std::string y_axis)
    : m_x_axis(std::move(x_axis)), m_y_axis(std::move(y_axis)) {}

void ScatterChart::add(double x, double y, bool front, std::string tooltip) {
    m_points.push_back(Point{x, y, front, std::move(tooltip)});
}

std::string ScatterChart::svg(const std::string& description) const {
    std::ostringstream s;
    s << "<svg class=\"chart\" viewBox=\"0 0 " << k_width << " " << k_height << "\" width=\""
      << k_width << "\" height=\"" << k_height << "\" role=\"img\" aria-label=\""
      << html_escape(description) << "\">\n";
    const double pw = k_width - k_left - k_right, ph = k_height - k_top - k_bottom;
    s << "<rect x=\"" << k_left << "\" y=\"" << k_top << "\" width=\"" << pw << "\" height=\"" << ph
      << "\" fill=\"#fff\" stroke=\"#d1d5db\"/>\n";
    if (m_points.empty()) {
        s << "<text x=\"" << k_left + pw / 2 << "\" y=\"" << k_top + ph / 2
          << "\" text-anchor=\"middle\" fill=\"#6b7280\">no point has this figure</text>\n</svg>";
        return s.str();
    }
    std::vector<double> xs, ys;
    for (const Point& p : m_points) {
        xs.push_back(p.x);
        ys.push_back(p.y);
    }
    const Axis ax = make_axis(xs, m_log_x, false), ay = make_axis(ys, false, m_log1p_y);
    auto px = [&](double v) { return k_left + ax.unit(v) * pw; };
    auto py = [&](double v) { return k_top + (1 - ay.unit(v)) * ph; };
    s << "<g font-size=\"11\" fill=\"#374151\">\n";
    for (const auto& [v, label] : ax.ticks()) {
        const double x = px(v);
        if (x < k_left - 0.5 || x > k_left + pw + 0.5) continue;
        s << "<line x1=\"" << fmt(x) << "\" y1=\"" << k_top << "\" x2=\"" << fmt(x) << "\" y2=\""
          << k_top + ph << "\" stroke=\"#f3f4f6\"/><text x=\"" << fmt(x) << "\" y=\""
          << k_top + ph + 15 << "\" text-anchor=\"middle\">" << html_escape(label) << "</text>\n";
    }
    for (const auto& [v, label] : ay.ticks()) {
        const double y = py(v);
        if (y < k_top - 0.5 || y > k_top + ph + 0.5) continue;
        s << "<line x1=\"" << k_left << "\" y1=\"" << fmt(y) << "\" x2=\"" << k_left + pw
          << "\" y2=\"" << fmt(y) << "\" stroke=\"#f3f4f6\"/><text x=\"" << k_left - 6 << "\" y=\""
          << fmt(y + 4) << "\" text-anchor=\"end\">" << html_escape(label) << "</text>\n";
    }
    s << "<text x=\"" << k_left + pw / 2 << "\" y=\"" << k_height - 10
      << "\" text-anchor=\"middle\" font-size=\"12\">" << html_escape(m_x_axis) << "</text>\n";
    s << "<text transform=\"translate(14," << k_top + ph / 2
      << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" << html_escape(m_y_axis)
      << "</text>\n</g>\n";
    // The front's staircase, left to right.
    std::vector<const Point*> front;
    for (const Point& p : m_points)
        if (p.front) front.push_back(&p);
    std::sort(front.begin(), front.end(), [](const Point* a, const Point* b) {
        return a->x != b->x ? a->x < b->x : a->y > b->y;
    });
    if (front.size() > 1) {
        s << "<polyline fill=\"none\" stroke=\"#dc2626\" stroke-width=\"1.5\" points=\"";
        for (std::size_t i = 0; i < front.size(); ++i) {
            if (i > 0) s << fmt(px(front[i]->x)) << "," << fmt(py(front[i - 1]->y)) << " ";
            s << fmt(px(front[i]->x)) << "," << fmt(py(front[i]->y)) << " ";
        }
        s << "\"/>\n";
    }
    for (int pass = 0; pass < 2; ++pass)
        for (const Point& p : m_points) {
            if (p.front != (pass == 1)) continue;  // the front on top
            s << "<circle cx=\"" << fmt(px(p.x)) << "\" cy=\"" << fmt(py(p.y)) << "\" r=\""
              << (p.front ? 5 : 3.5) << "\" fill=\"" << (p.front ? "#dc2626" : "#9ca3af")
              << "\" fill-opacity=\"" << (p.front ? 0.95 : 0.7) << "\"><title>"
              << html_escape(p.tooltip) << "</title></circle>\n";
        }
    s << "</svg>";
    return s.str();
}

}  // namespace accsim
