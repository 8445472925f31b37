#pragma once
// Text for the HTML report: escaping and the number formats its tables and charts share, so a
// figure reads the same in a table cell, a tick label and a tooltip.
#include <string>
#include <string_view>

namespace accsim {

// The style every accsim page shares (body, headings, facts, charts, tables); each page adds
// its own after it. No url(), no @import, no web fonts: pages render offline as sent.
extern const char* const k_page_css;

// Escapes the five characters that matter in HTML and SVG text and attribute values, so a
// layer named `<b>&"x` stays text.
std::string html_escape(std::string_view text);

// An integer with thousands separators ("18,608,464"); rounds a non-integer.
std::string format_count(double v);

// `significant` digits without an exponent for everyday magnitudes ("0.0475", "382.4").
std::string format_number(double v, int significant = 4);

// A tick label: 0, 500, 1.5k, 20M, 3G.
std::string format_si(double v);

// A quantity in the unit that keeps it between 1 and 1000: energy from pJ ("3.42 µJ"), power
// from mW ("1.2 W"), time from µs ("382 µs", "1.5 ms").
std::string format_energy_pj(double pj);
std::string format_power_mw(double mw);
std::string format_time_us(double us);

// The unit (and its divisor from pJ) that keeps `max_pj` between 1 and 1000.
struct EnergyUnit {
    const char* name;
    double per_pj;
};
EnergyUnit energy_unit(double max_pj);

}  // namespace accsim
