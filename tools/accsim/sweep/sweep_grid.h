#pragma once
// The points of a sweep: `--grid PATH=VALUES` axes (VALUES: a list 12,14,16, a range 12..20, a
// stepped range 12..32:2, or a mix 8,12..16) and `--acc-grid "16;128x16,32"` (whole accumulator
// layouts), expanded as a cartesian product in a fixed order (the first axis varies slowest,
// accumulator layouts slowest of all). Each point becomes --acc plus --set overrides on the base
// config.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace accsim {

struct GridAxis {
    std::string path;                 // a --set path, e.g. accumulator.stages.0.bits
    std::vector<std::string> values;  // each as --set takes it (a JSON literal or a bare string)
};

struct SweepPoint {
    std::optional<std::string> acc;                         // from --acc-grid
    std::vector<std::pair<std::string, std::string>> sets;  // path, value; in axis order
    // "path=value, ..." (and "acc=..."): how errors and progress name the point.
    std::string label() const;
};

// Throw InputError("command line", "--grid" or "--acc-grid", ...) on malformed input.
GridAxis parse_grid(const std::string& arg);
std::vector<std::string> parse_acc_grid(const std::string& arg);

// Refuses a path swept twice and more than `max_points` points.
std::vector<SweepPoint> expand_grid(const std::vector<GridAxis>& axes,
                                    const std::vector<std::string>& accs,
                                    std::size_t max_points = 100000);

}  // namespace accsim
