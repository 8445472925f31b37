#include "sweep/sweep_html.h"

#include <sstream>

#include "report/html_text.h"
#include "report/scatter_chart.h"
#include "sweep/sweep_output.h"

namespace accsim {

using Json = nlohmann::ordered_json;

namespace {

// This page's style, after k_page_css (html_text.h): no url(), no @import, no web fonts.
const char* const k_css = R"(
.sub, figcaption { color: #4b5563; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 8px 0 16px; }
.scroll { overflow-x: auto; max-height: 640px; }
td.n { text-align: right; }
tr.front td { font-weight: 600; }
.bad { color: #b91c1c; }
)";

const char* const k_dash = "\xE2\x80\x94";

std::string values_text(const Json& p) {
    std::string s;
    for (auto it = p["values"].begin(); it != p["values"].end(); ++it)
        s += (s.empty() ? "" : ", ") + it.key() + "=" + it.value().get<std::string>();
    return s.empty() ? "(base config)" : s;
}

std::string num(const Json& v, bool energy = false) {
    if (!v.is_number()) return k_dash;
    return energy ? format_energy_pj(v.get<double>()) : format_count(v.get<double>());
}

std::string tooltip(const Json& p) {
    const Json& t = p["totals"];
    std::string s = "point " + p["index"].dump() + ": " + values_text(p) + " (" +
                    p["accumulator"].get<std::string>() + ") - " +
                    format_count(t["outputs_corrupted"].get<double>()) + " corrupted outputs";
    if (t["energy_pj"].is_number()) s += ", " + format_energy_pj(t["energy_pj"].get<double>());
    if (t["cycles"].is_number()) s += ", " + format_count(t["cycles"].get<double>()) + " cycles";
    if (t["fpga"].is_object()) s += ", " + format_count(t["fpga"]["lut"].get<double>()) + " LUTs";
    return s;
}

std::string figure(const std::string& svg, const std::string& caption) {
    return "<figure>" + svg + "<figcaption>" + html_escape(caption) + "</figcaption></figure>\n";
}

// Plots draw at most this many points: the fronts always, the rest evenly thinned.
constexpr std::size_t k_max_drawn = 2000;

// One scatter plot: x from `x_of` (null: the point is not drawn), y from `y_of`, the front from
// `front` (per point).
template <typename X, typename Y>
std::string scatter(const Json& points, const std::string& x_label, const std::string& y_label,
                    X x_of, Y y_of, const std::vector<bool>& front, const std::string& what,
                    const std::string& caption) {
    ScatterChart chart(x_label, y_label);
    chart.set_log1p_y(true);
    std::size_t with = 0;
    for (const Json& p : points) with += x_of(p).is_number();
    const std::size_t stride = with > k_max_drawn ? (with + k_max_drawn - 1) / k_max_drawn : 1;
    std::size_t seen = 0, drawn = 0;
    for (std::size_t i = 0; i < points.size(); ++i) {
        const Json x = x_of(points[i]);
        if (!x.is_number()) continue;
        if (front[i] || seen++ % stride == 0) {
            chart.add(x.get<double>(), y_of(points[i]), front[i], tooltip(points[i]));
            ++drawn;
        }
    }
    if (chart.size() == 0) return "";
    std::string note = caption;
    if (drawn < with)
        note += " " + format_count(static_cast<double>(drawn)) + " of " +
                format_count(static_cast<double>(with)) + " points drawn (the front, and every " +
                std::to_string(stride) + "th of the rest); sweep.csv has all.";
    return figure(chart.svg(what), note);
}

std::string plots(const Json& sweep) {
    const Json& points = sweep["points"];
    auto corrupted = [](const Json& p) { return p["totals"]["outputs_corrupted"].get<double>(); };
    auto flags = [&](const char* key) {
        std::vector<bool> f;
        for (const Json& p : points) f.push_back(p["pareto"][key] == true);
        return f;
    };
    double max_pj = 0;
    for (const Json& p : points)
        if (p["totals"]["energy_pj"].is_number())
            max_pj = std::max(max_pj, p["totals"]["energy_pj"].get<double>());
    const EnergyUnit u = energy_unit(max_pj);
    const std::string y_corrupted = "corrupted outputs (log scale, 0 at the bottom)";
    std::string out = "<div class=\"plots\">\n";
    for (const ParetoAxis& a : pareto_axes()) {
        const bool energy = std::string(a.key) == "energy";
        auto x_of = [&](const Json& p) {
            const Json c = pareto_cost(p, a.key);
            return energy && c.is_number() ? Json(c.get<double>() / u.per_pj) : c;
        };
        out += scatter(points, energy ? std::string("energy (") + u.name + ")" : a.label,
                       y_corrupted, x_of, corrupted, flags(a.key),
                       std::string("corrupted outputs against ") + a.label,
                       std::string("Corrupted outputs against ") + a.label +
                           ". Red: the Pareto front (no point is better in both).");
    }
    bool real = true;
    for (const Json& p : points) real = real && p["totals"]["max_abs_error_real"].is_number();
    out += scatter(
        points, std::string("energy (") + u.name + ")",
        real ? "largest output error, real units (log scale)"
             : "largest output error, accumulator units (log scale)",
        [&](const Json& p) {
            const Json& e = p["totals"]["energy_pj"];
            return e.is_number() ? Json(e.get<double>() / u.per_pj) : Json();
        },
        point_error, flags("error_energy"), "largest error against energy",
        "The largest error of any output against energy. Red: the Pareto front.");
    // Against the accumulator's total width: always there, also for audit-only sweeps.
    std::vector<double> bits, ys;
    for (const Json& p : points) {
        bits.push_back(total_bits(p));
        ys.push_back(corrupted(p));
    }
    out += scatter(
        points, "accumulator bits (all stages)", y_corrupted,
        [&](const Json& p) { return Json(total_bits(p)); }, corrupted, pareto_front(bits, ys),
        "corrupted outputs against accumulator bits",
        "Corrupted outputs against the accumulator's total width (the sum of its stages' bits). "
        "Red: the Pareto front (no point is narrower with as few corrupted outputs).");
    return out + "</div>\n";
}

// Tables list at most this many points.
constexpr std::size_t k_max_rows = 1000;

std::string point_rows(const Json& sweep, bool front_only, const char* axis) {
    std::ostringstream s;
    std::size_t rows = 0;
    for (const Json& p : sweep["points"]) {
        if (rows >= k_max_rows) break;
        bool any_front = false;
        for (const ParetoAxis& a : pareto_axes())
            any_front = any_front || p["pareto"][a.key] == true;
        if (front_only && p["pareto"][axis] != true) continue;
        ++rows;
        const Json& t = p["totals"];
        s << "<tr" << (any_front ? " class=\"front\"" : "") << "><td class=\"n\">" << p["index"]
          << "</td><td>" << html_escape(values_text(p)) << "</td><td>"
          << html_escape(p["accumulator"].get<std::string>()) << "</td><td class=\"n"
          << (t["outputs_corrupted"].get<double>() > 0 ? " bad" : " good") << "\">"
          << num(t["outputs_corrupted"]) << "</td><td class=\"n\">" << num(t["events"])
          << "</td><td class=\"n\">" << num(t["max_abs_error"]) << "</td><td class=\"n\">"
          << num(t["energy_pj"], true) << "</td><td class=\"n\">" << num(t["cycles"])
          << "</td><td class=\"n\">"
          << (t["fpga"].is_object() ? num(t["fpga"]["lut"]) : std::string(k_dash)) << "</td><td>";
        std::string marks;
        for (const ParetoAxis& a : pareto_axes())
            if (p["pareto"][a.key] == true)
                marks += (marks.empty() ? "" : ", ") + std::string(a.key);
        s << html_escape(marks) << "</td><td class=\"n\">" << p["replays"]["simulated"] << " / "
          << p["replays"]["derived"] << "</td></tr>\n";
    }
    return s.str();
}

const char* const k_point_head =
    "<thead><tr><th>point</th><th>values</th><th>accumulator</th><th>corrupted</th>"
    "<th>events</th><th>max error</th><th>energy</th><th>cycles</th><th>LUTs</th>"
    "<th>Pareto in</th><th>layers simulated / derived</th></tr></thead>\n";

std::string narrowest_table(const Json& sweep) {
    std::ostringstream s;
    s << "<div class=\"scroll\"><table><thead><tr><th>layer</th><th>narrowest with no corrupted "
         "output</th><th>narrowest with no overflow event</th></tr></thead><tbody>\n";
    auto cell = [](const Json& c) {
        if (c.is_null()) return std::string("<td class=\"bad\">none in this sweep</td>");
        return "<td>point " + c["index"].dump() + ": " +
               html_escape(c["accumulator"].get<std::string>()) + " (" +
               html_escape(values_text(c)) + ")</td>";
    };
    for (const Json& l : sweep["narrowest_safe"])
        s << "<tr><td>" << html_escape(l["layer"].get<std::string>()) << "</td>"
          << cell(l["no_corrupted_outputs"]) << cell(l["no_events"]) << "</tr>\n";
    s << "</tbody></table></div>\n";
    return s.str();
}

}  // namespace

std::string render_sweep_html(const Json& sweep) {
    const Json& sum = sweep["summary"];
    const Json& rep = sum["layer_replays"];
    std::ostringstream s;
    const std::string model = sweep["trace"]["model"].get<std::string>();
    s << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>accsim sweep: "
      << html_escape(model) << "</title>\n<style>" << k_page_css << k_css
      << "</style></head><body>\n";
    s << "<h1>accsim sweep: " << html_escape(model) << "</h1>\n<p class=\"sub\">" << sum["points"]
      << " configurations of <b>" << html_escape(sweep["base_config"]["name"].get<std::string>())
      << "</b>, accsim " << html_escape(sweep["tool"]["version"].get<std::string>()) << "</p>\n";
    s << "<dl class=\"facts\">\n<dt>trace</dt><dd>"
      << html_escape(sweep["trace"]["path"].get<std::string>()) << "</dd>\n";
    for (const Json& a : sweep["grid"]) {
        std::string vals;
        for (const Json& v : a["values"]) vals += (vals.empty() ? "" : ", ") + v.get<std::string>();
        s << "<dt>" << html_escape(a["path"].get<std::string>()) << "</dt><dd>" << html_escape(vals)
          << "</dd>\n";
    }
    if (!sweep["acc_grid"].empty()) {
        std::string vals;
        for (const Json& v : sweep["acc_grid"])
            vals += (vals.empty() ? "" : "; ") + v.get<std::string>();
        s << "<dt>accumulator layouts</dt><dd>" << html_escape(vals) << "</dd>\n";
    }
    s << "<dt>points</dt><dd>" << sum["points_simulated"] << " simulated, " << sum["points_derived"]
      << " derived without replaying a layer</dd>\n<dt>layer replays</dt><dd>" << rep["simulated"]
      << " simulated; derived: " << rep["derived_static"] << " by the exact static bound, "
      << rep["derived_dominated"] << " by a narrower replay without events, "
      << rep["derived_equivalent"] << " as the same replay (a first-stage tile at least the dot "
      << "length); " << rep["shared"]
      << " shared by points with the same accumulator</dd>\n</dl>\n";
    s << "<h2>Pareto plots</h2>\n" << plots(sweep);
    for (const ParetoAxis& a : pareto_axes()) {
        if (sweep["pareto"][a.key].empty()) continue;
        s << "<h2>Pareto front: corrupted outputs against " << html_escape(a.label) << "</h2>\n"
          << "<div class=\"scroll\"><table>" << k_point_head << "<tbody>\n"
          << point_rows(sweep, true, a.key) << "</tbody></table></div>\n";
    }
    s << "<h2>Narrowest safe configuration per layer</h2>\n"
      << "<p class=\"sub\">The point with the fewest accumulator bits in all (then the least "
         "energy) whose replay of the layer is exact.</p>\n"
      << narrowest_table(sweep);
    s << "<h2>Every point</h2>\n";
    if (sweep["points"].size() > k_max_rows)
        s << "<p class=\"sub\">The first " << k_max_rows << " of " << sweep["points"].size()
          << " points; sweep.csv has all.</p>\n";
    s << "<div class=\"scroll\"><table>" << k_point_head << "<tbody>\n"
      << point_rows(sweep, false, "") << "</tbody></table></div>\n";
    s << "<footer><p class=\"sub\">sweep.csv and sweep.json hold every figure, per layer "
         "too.</p></footer>\n</body></html>\n";
    return s.str();
}

}  // namespace accsim
