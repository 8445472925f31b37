#include "sweep/sweep_grid.h"

#include <cctype>
#include <cstdint>
#include <set>

#include "datapath/input_error.h"

namespace accsim {

namespace {

const std::string k_values_help =
    "VALUES is a list (12,14,16), a range (12..20) or a stepped range (12..32:2)";

[[noreturn]] void bad(const std::string& option, const std::string& arg, const std::string& what) {
    throw InputError("command line", option, "\"" + arg + "\": " + what);
}

std::string trim(const std::string& s) {
    std::size_t a = 0, b = s.size();
    while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
    while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
    return s.substr(a, b - a);
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t at = s.find(sep, start);
        out.push_back(
            trim(s.substr(start, at == std::string::npos ? std::string::npos : at - start)));
        if (at == std::string::npos) return out;
        start = at + 1;
    }
}

// A whole decimal integer (optional sign), or nothing.
std::optional<int64_t> integer(const std::string& s) {
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::size_t i = s[0] == '-' || s[0] == '+' ? 1 : 0;
    if (i == s.size()) return std::nullopt;
    for (std::size_t j = i; j < s.size(); ++j)
        if (!std::isdigit(static_cast<unsigned char>(s[j]))) return std::nullopt;
    return std::stoll(s);
}

void add_range(const std::string& arg, const std::string& item, std::vector<std::string>& out) {
    const std::size_t dots = item.find("..");
    const std::string lo_text = item.substr(0, dots);
    std::string hi_text = item.substr(dots + 2), step_text = "1";
    if (const std::size_t colon = hi_text.find(':'); colon != std::string::npos) {
        step_text = hi_text.substr(colon + 1);
        hi_text = hi_text.substr(0, colon);
    }
    const auto lo = integer(trim(lo_text)), hi = integer(trim(hi_text)),
               step = integer(trim(step_text));
    if (!lo || !hi)
        bad("--grid", arg,
            "range \"" + item + "\" needs whole numbers at both ends (" + k_values_help + ")");
    if (!step || *step <= 0)
        bad("--grid", arg, "range \"" + item + "\" needs a whole step of at least 1 after ':'");
    if (*lo > *hi)
        bad("--grid", arg,
            "range \"" + item + "\" runs backwards (" + std::to_string(*lo) + " > " +
                std::to_string(*hi) + ")");
    if ((*hi - *lo) / *step >= 100000)
        bad("--grid", arg, "range \"" + item + "\" has more than 100000 values");
    for (int64_t v = *lo; v <= *hi; v += *step) out.push_back(std::to_string(v));
}

}  // namespace

std::string SweepPoint::label() const {
    std::string s;
    if (acc) s = "acc=" + *acc;
    for (const auto& [path, value] : sets) s += (s.empty() ? "" : ", ") + path + "=" + value;
    return s.empty() ? "(the base config)" : s;
}

GridAxis parse_grid(const std::string& arg) {
    const std::size_t eq = arg.find('=');
    if (eq == std::string::npos) bad("--grid", arg, "expected PATH=VALUES; " + k_values_help);
    GridAxis axis;
    axis.path = trim(arg.substr(0, eq));
    if (axis.path.empty()) bad("--grid", arg, "the PATH before '=' is empty");
    for (char c : axis.path)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'))
            bad("--grid", arg,
                "PATH \"" + axis.path +
                    "\" may hold only letters, digits, '_' and '.' (like --set)");
    const std::string values = trim(arg.substr(eq + 1));
    if (values.empty()) bad("--grid", arg, "no values after '='; " + k_values_help);
    std::set<std::string> seen;
    for (const std::string& item : split(values, ',')) {
        if (item.empty()) bad("--grid", arg, "an empty value (two commas, or one at an end)");
        const std::size_t before = axis.values.size();
        if (item.find("..") != std::string::npos)
            add_range(arg, item, axis.values);
        else if (const auto v = integer(item))
            axis.values.push_back(std::to_string(*v));  // 012 and +12 are 12
        else
            axis.values.push_back(item);
        for (std::size_t i = before; i < axis.values.size(); ++i)
            if (!seen.insert(axis.values[i]).second)
                bad("--grid", arg, "value " + axis.values[i] + " is listed twice");
    }
    return axis;
}

std::vector<std::string> parse_acc_grid(const std::string& arg) {
    const std::string text = trim(arg);
    if (text.empty())
        bad("--acc-grid", arg,
            "no layouts; expected accumulator specs separated by ';', e.g. "
            "\"16;128x16,32;64x14,24\"");
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (const std::string& item : split(text, ';')) {
        if (item.empty()) bad("--acc-grid", arg, "an empty layout (two ';', or one at an end)");
        if (!seen.insert(item).second)
            bad("--acc-grid", arg, "layout " + item + " is listed twice");
        out.push_back(item);
    }
    return out;
}

std::vector<SweepPoint> expand_grid(const std::vector<GridAxis>& axes,
                                    const std::vector<std::string>& accs, std::size_t max_points) {
    std::set<std::string> paths;
    for (const GridAxis& a : axes)
        if (!paths.insert(a.path).second)
            throw InputError("command line", "--grid",
                             "\"" + a.path + "\" is swept twice (give its values in one --grid)");
    std::size_t total = accs.empty() ? 1 : accs.size();
    for (const GridAxis& a : axes) {
        total *= a.values.size();
        if (total > max_points)
            throw InputError("command line", "--grid",
                             "the grid has more than " + std::to_string(max_points) + " points");
    }
    std::vector<SweepPoint> points;
    points.reserve(total);
    for (std::size_t i = 0; i < total; ++i) {
        // Mixed radix, the last axis fastest.
        SweepPoint p;
        std::size_t rest = i;
        std::vector<std::size_t> digit(axes.size());
        for (std::size_t a = axes.size(); a-- > 0;) {
            digit[a] = rest % axes[a].values.size();
            rest /= axes[a].values.size();
        }
        if (!accs.empty()) p.acc = accs[rest];
        for (std::size_t a = 0; a < axes.size(); ++a)
            p.sets.emplace_back(axes[a].path, axes[a].values[digit[a]]);
        points.push_back(std::move(p));
    }
    return points;
}

}  // namespace accsim
