#pragma once
// A horizontal bar chart as inline SVG: one row per category (a layer), bars grouped or stacked
// per series, a linear or log value axis with ticks and grid, labelled reference lines (a
// configured width, a device's capacity), a legend, and a tooltip (<title>) on every bar.
// Rows rather than columns so that 60 long layer names stay readable without rotation.
#include <optional>
#include <string>
#include <vector>

namespace accsim {

class BarChart {
  public:
    // `value_axis` names the axis with its unit ("events (log scale)", "energy (nJ)").
    BarChart(std::string value_axis, std::vector<std::string> categories);

    // Series stack end to end in a row instead of side by side (linear scale only).
    void set_stacked(bool stacked) { m_stacked = stacked; }
    // Powers of ten on the value axis; zero and null values draw no bar.
    void set_log_scale(bool log) { m_log = log; }

    // One value per category; nullopt draws nothing (the value does not apply). An empty
    // colour takes the next one of a built-in palette.
    void add_series(std::string name, std::vector<std::optional<double>> values,
                    std::string color = "");
    // A vertical line across every row at `value`, labelled above the plot.
    void add_line(double value, std::string label, std::string color);

    std::size_t series_count() const { return m_series.size(); }

    // The <svg> element; `description` becomes its accessible label.
    std::string svg(const std::string& description) const;

  private:
    struct Series {
        std::string name, color;
        std::vector<std::optional<double>> values;
    };
    struct Line {
        double value;
        std::string label, color;
    };
    struct Axis;  // the value scale, from the data

    Axis value_axis() const;

    std::string m_value_axis;
    std::vector<std::string> m_categories;
    std::vector<Series> m_series;
    std::vector<Line> m_lines;
    bool m_stacked = false;
    bool m_log = false;
};

}  // namespace accsim
