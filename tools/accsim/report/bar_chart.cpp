#include "report/bar_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "report/html_text.h"

namespace accsim {

namespace {

// Distinguishable on white and for common colour-vision deficiencies (Okabe-Ito first).
const char* const k_palette[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7",
                                 "#56B4E9", "#F0E442", "#000000", "#8C564B", "#7F7F7F",
                                 "#BCBD22", "#17BECF", "#9467BD", "#2CA02C"};

// Geometry in SVG user units (px at 100 %).
constexpr double k_width = 1000;
constexpr double k_right = 40;  // room for the last tick label
constexpr double k_char = 6.3;  // average advance of an 11 px sans-serif character
constexpr double k_legend_row = 16;
constexpr double k_line_label = 13;
constexpr double k_tick_labels = 16;
constexpr double k_bottom = 40;  // tick labels and the axis title
constexpr std::size_t k_max_label = 36;

std::string px(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

// A tooltip value: counts with separators, anything else with four digits.
std::string value_text(double v) {
    return v == std::floor(v) && std::fabs(v) < 1e15 ? format_count(v) : format_number(v, 4);
}

// 1, 2 or 5 times a power of ten, at least `raw`.
double nice_step(double raw) {
    const double p = std::pow(10.0, std::floor(std::log10(raw)));
    const double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

}  // namespace

struct BarChart::Axis {
    bool log = false;
    double lo = 0, hi = 1;  // log: exponents of ten
    std::vector<double> ticks;

    // The fraction of the plot's width at `v` (clamped to the axis).
    double at(double v) const {
        double f;
        if (log)
            f = v > 0 ? (std::log10(v) - lo) / (hi - lo) : 0;
        else
            f = (v - lo) / (hi - lo);
        return std::clamp(f, 0.0, 1.0);
    }
};

BarChart::BarChart(std::string value_axis, std::vector<std::string> categories)
    : m_value_axis(std::move(value_axis)), m_categories(std::move(categories)) {}

void BarChart::add_series(std::string name, std::vector<std::optional<double>> values,
                          std::string color) {
    values.resize(m_categories.size());
    if (color.empty()) color = k_palette[m_series.size() % std::size(k_palette)];
    m_series.push_back({std::move(name), std::move(color), std::move(values)});
}

void BarChart::add_line(double value, std::string label, std::string color) {
    m_lines.push_back({value, std::move(label), std::move(color)});
}

BarChart::Axis BarChart::value_axis() const {
    double top = 0;
    for (std::size_t i = 0; i < m_categories.size(); ++i) {
        double sum = 0;
        for (const Series& s : m_series) {
            const double v = s.values[i].value_or(0);
            if (!std::isfinite(v)) continue;
            sum = m_stacked ? sum + std::max(v, 0.0) : std::max(sum, v);
        }
        top = std::max(top, sum);
    }
    for (const Line& l : m_lines) top = std::max(top, l.value);

    Axis a;
    if (m_log && !m_stacked) {
        a.log = true;
        // From half of one so that a single event still draws a visible bar.
        a.lo = -std::log10(2.0);
        a.hi = std::max(1.0, std::ceil(std::log10(std::max(top, 1.0)) - 1e-9));
        const int every = a.hi > 10 ? 2 : 1;
        for (int e = 0; e <= a.hi; e += every) a.ticks.push_back(std::pow(10.0, e));
        return a;
    }
    if (top <= 0) top = 1;
    const double step = nice_step(top / 6);
    a.hi = std::ceil(top / step - 1e-9) * step;
    for (double t = 0; t <= a.hi + step / 2; t += step) a.ticks.push_back(t);
    return a;
}

std::string BarChart::svg(const std::string& description) const {
    const Axis axis = value_axis();
    const std::size_t rows = m_categories.size();
    const std::size_t n = std::max<std::size_t>(m_series.size(), 1);

    std::size_t longest = 4;
    for (const std::string& c : m_categories) longest = std::max(longest, c.size());
    const double x0 = std::clamp(k_char * std::min(longest, k_max_label) + 14, 60.0, 250.0);
    const double x1 = k_width - k_right;
    const double plot_w = x1 - x0;
    auto x_at = [&](double v) { return x0 + axis.at(v) * plot_w; };

    // The legend wraps into rows across the full width.
    std::vector<std::pair<double, double>> legend_at;  // x, y of each swatch
    double lx = 8, ly = 8;
    for (const Series& s : m_series) {
        const double w = 14 + k_char * s.name.size() + 18;
        if (lx + w > k_width && lx > 8) {
            lx = 8;
            ly += k_legend_row;
        }
        legend_at.emplace_back(lx, ly);
        lx += w;
    }
    const double legend_h = m_series.empty() ? 4 : ly + k_legend_row;
    const double y0 = legend_h + k_line_label * m_lines.size() + k_tick_labels;

    const bool stacked = m_stacked || n == 1;
    const double row_h = stacked ? 18 : std::max(18.0, 5.0 * n + 8);
    const double bar_h = stacked ? 12 : (row_h - 6) / n;
    const double plot_h = row_h * std::max<std::size_t>(rows, 1);
    const double height = y0 + plot_h + k_bottom;

    std::string o;
    o += "<svg class=\"chart\" viewBox=\"0 0 " + px(k_width) + " " + px(height) + "\" width=\"" +
         px(k_width) + "\" height=\"" + px(height) +
         "\" role=\"img\" font-family=\"sans-serif\" font-size=\"11\" aria-label=\"" +
         html_escape(description) + "\">\n";

    for (std::size_t s = 0; s < m_series.size(); ++s) {
        const auto [sx, sy] = legend_at[s];
        o += "<rect x=\"" + px(sx) + "\" y=\"" + px(sy) + "\" width=\"10\" height=\"10\" fill=\"" +
             m_series[s].color + "\"/><text x=\"" + px(sx + 14) + "\" y=\"" + px(sy + 9) + "\">" +
             html_escape(m_series[s].name) + "</text>\n";
    }

    // Zebra rows first, so that grid, bars and lines lie on top.
    for (std::size_t i = 1; i < rows; i += 2)
        o += "<rect x=\"0\" y=\"" + px(y0 + i * row_h) + "\" width=\"" + px(x1) + "\" height=\"" +
             px(row_h) + "\" fill=\"#f3f4f6\"/>\n";

    for (double t : axis.ticks) {
        const double x = x_at(t);
        const std::string label = format_si(t);
        o += "<line x1=\"" + px(x) + "\" y1=\"" + px(y0) + "\" x2=\"" + px(x) + "\" y2=\"" +
             px(y0 + plot_h) + "\" stroke=\"#d1d5db\" stroke-width=\"0.6\"/>";
        for (double y : {y0 - 5, y0 + plot_h + 13})
            o += "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\" text-anchor=\"middle\">" + label +
                 "</text>";
        o += "\n";
    }

    for (std::size_t i = 0; i < rows; ++i) {
        const std::string& name = m_categories[i];
        const double ry = y0 + i * row_h;
        std::string shown = name.size() > k_max_label
                                ? name.substr(0, k_max_label - 1) + "\xE2\x80\xA6"  // ellipsis
                                : name;
        o += "<text x=\"" + px(x0 - 6) + "\" y=\"" + px(ry + row_h / 2 + 4) +
             "\" text-anchor=\"end\"><title>" + html_escape(name) + "</title>" +
             html_escape(shown) + "</text>\n";
        double stack = 0;
        for (std::size_t s = 0; s < m_series.size(); ++s) {
            const std::optional<double>& v = m_series[s].values[i];
            if (!v || !std::isfinite(*v) || *v <= 0) continue;
            double from = x0, to = x_at(*v);
            if (stacked) {
                from = x_at(stack);
                stack += *v;
                to = x_at(stack);
            }
            // A non-zero value never vanishes: at least one pixel.
            const double w = std::max(to - from, 1.0);
            const double by = stacked ? ry + (row_h - bar_h) / 2 : ry + 3 + s * bar_h;
            o += "<rect x=\"" + px(from) + "\" y=\"" + px(by) + "\" width=\"" + px(w) +
                 "\" height=\"" + px(std::max(bar_h - (stacked ? 0 : 1), 1.0)) + "\" fill=\"" +
                 m_series[s].color + "\"><title>" + html_escape(name) + " \xC2\xB7 " +
                 html_escape(m_series[s].name) + ": " + value_text(*v) + "</title></rect>\n";
        }
    }

    o += "<line x1=\"" + px(x0) + "\" y1=\"" + px(y0) + "\" x2=\"" + px(x0) + "\" y2=\"" +
         px(y0 + plot_h) + "\" stroke=\"#374151\"/>\n";

    for (std::size_t j = 0; j < m_lines.size(); ++j) {
        const Line& l = m_lines[j];
        const double x = x_at(l.value);
        const double ly_text = legend_h + k_line_label * (j + 1) - 2;
        const bool right = x > x0 + plot_w * 0.7;
        o += "<line x1=\"" + px(x) + "\" y1=\"" + px(ly_text + 2) + "\" x2=\"" + px(x) +
             "\" y2=\"" + px(y0 + plot_h) + "\" stroke=\"" + l.color +
             "\" stroke-width=\"1.6\" stroke-dasharray=\"5 3\"><title>" + html_escape(l.label) +
             "</title></line><text x=\"" + px(right ? x - 4 : x + 4) + "\" y=\"" + px(ly_text) +
             "\" fill=\"" + l.color + "\" font-weight=\"bold\"" +
             (right ? " text-anchor=\"end\"" : "") + ">" + html_escape(l.label) + "</text>\n";
    }

    o += "<text x=\"" + px(x0 + plot_w / 2) + "\" y=\"" + px(height - 6) +
         "\" text-anchor=\"middle\" font-weight=\"bold\">" + html_escape(m_value_axis) +
         "</text>\n</svg>\n";
    return o;
}

}  // namespace accsim
