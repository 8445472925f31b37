#include "report/html_text.h"

#include <cmath>
#include <cstdio>

namespace accsim {

const char* const k_page_css = R"(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827;
       margin: 0 auto; padding: 16px 24px 48px; max-width: 1280px; }
h1 { font-size: 22px; margin: 8px 0 2px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
svg.chart { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 8px; border-bottom: 1px solid #e5e7eb; white-space: nowrap; }
th { background: #f9fafb; text-align: left; position: sticky; top: 0; }
tbody tr:nth-child(even) { background: #f9fafb; }
.good { color: #15803d; }
)";

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string format_count(double v) {
    if (!std::isfinite(v)) return format_number(v);
    // Beyond 2^63 a double has no integer digits worth grouping.
    if (std::fabs(v) >= 9.2e18) return format_number(v);
    const long long n = std::llround(v);
    std::string digits = std::to_string(n < 0 ? -static_cast<unsigned long long>(n)
                                              : static_cast<unsigned long long>(n));
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return n < 0 ? "-" + out : out;
}

std::string format_number(double v, int significant) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
    if (v == 0) return "0";
    const double mag = std::fabs(v);
    char buf[64];
    if (mag >= 1e15 || mag < 1e-4) {
        std::snprintf(buf, sizeof buf, "%.*g", significant, v);
        return buf;
    }
    // Digits after the point so that `significant` digits show, trailing zeros dropped.
    const int before = static_cast<int>(std::floor(std::log10(mag))) + 1;
    const int after = std::max(0, significant - before);
    std::snprintf(buf, sizeof buf, "%.*f", after, v);
    std::string s = buf;
    if (s.find('.') != std::string::npos) {
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
    }
    return s;
}

std::string format_si(double v) {
    static const char* const k_suffix[] = {"", "k", "M", "G", "T", "P", "E"};
    int i = 0;
    double m = v;
    while (std::fabs(m) >= 1000 && i < 6) {
        m /= 1000;
        ++i;
    }
    return format_number(m, 3) + k_suffix[i];
}

namespace {

// `v` in the first of `units` (each 1000 times the last) that keeps it below 1000.
std::string scaled(double v, const char* const* units, int count) {
    int i = 0;
    while (std::fabs(v) >= 1000 && i + 1 < count) {
        v /= 1000;
        ++i;
    }
    return format_number(v, 4) + " " + units[i];
}

}  // namespace

std::string format_energy_pj(double pj) {
    const EnergyUnit u = energy_unit(pj);
    return format_number(pj / u.per_pj, 4) + " " + u.name;
}

EnergyUnit energy_unit(double max_pj) {
    static const EnergyUnit k_units[] = {
        {"pJ", 1}, {"nJ", 1e3}, {"µJ", 1e6}, {"mJ", 1e9}, {"J", 1e12}};
    std::size_t i = 0;
    while (std::fabs(max_pj) >= 1000 * k_units[i].per_pj && i + 1 < std::size(k_units)) ++i;
    return k_units[i];
}

std::string format_power_mw(double mw) {
    static const char* const k_units[] = {"mW", "W", "kW"};
    if (std::fabs(mw) < 1 && mw != 0) return format_number(mw * 1000, 4) + " µW";
    return scaled(mw, k_units, 3);
}

std::string format_time_us(double us) {
    static const char* const k_units[] = {"µs", "ms", "s"};
    if (std::fabs(us) < 1 && us != 0) return format_number(us * 1000, 4) + " ns";
    return scaled(us, k_units, 3);
}

}  // namespace accsim
