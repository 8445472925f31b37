#pragma once
// A scatter plot as inline SVG for Pareto studies: one dot per point, the points on the front
// drawn larger in a strong colour and joined by the front's staircase, a tooltip (<title>) on
// every dot. The y axis can be "log(1 + y)" so that zero (no corrupted output) and millions
// share one plot; the x axis is linear or log.
#include <string>
#include <vector>

namespace accsim {

class ScatterChart {
  public:
    ScatterChart(std::string x_axis, std::string y_axis);
    void set_log_x(bool log) { m_log_x = log; }
    void set_log1p_y(bool log) { m_log1p_y = log; }
    // `front`: on the Pareto front; `tooltip`: plain text.
    void add(double x, double y, bool front, std::string tooltip);
    std::size_t size() const { return m_points.size(); }
    std::string svg(const std::string& description) const;

  private:
    struct Point {
        double x, y;
        bool front;
        std::string tooltip;
    };
    std::string m_x_axis, m_y_axis;
    std::vector<Point> m_points;
    bool m_log_x = false, m_log1p_y = false;
};

}  // namespace accsim
