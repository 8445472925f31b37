#include "config/cost_config.h"

#include <cmath>
#include <sstream>

namespace accsim {

namespace {

// An energy, power or rate: zero allowed (a cost a preset leaves out), never negative.
double non_negative(const JsonCursor& c, double hi = 1e12) {
    const double v = c.as_number();
    if (!(v >= 0 && v <= hi)) {
        std::ostringstream bound;
        bound << hi;
        c.fail("expected a number in [0, " + bound.str() + "], got " + brief(c.value()));
    }
    return v;
}

double fraction(const JsonCursor& c) {
    return non_negative(c, 1);
}

int bits(const JsonCursor& c) {
    return static_cast<int>(c.as_int(1, 64));
}

WidthScaling scaling(const JsonCursor& c) {
    return c.as_enum(k_width_scaling_names);
}

SramEnergy parse_sram(const JsonCursor& c) {
    c.require_object();
    c.allow_keys({"pj_per_64b", "write_factor"});
    SramEnergy s;
    const JsonCursor points = c.at("pj_per_64b");
    if (points.size() == 0) points.fail("expected at least one [KiB, pJ] point");
    for (std::size_t i = 0; i < points.size(); ++i) {
        const JsonCursor p = points.at(i);
        if (p.size() != 2) p.fail("expected [size in KiB, pJ per 64-bit access]");
        const double kib = p.at(std::size_t{0}).as_number();
        if (!(kib > 0 && kib < 1e9)) p.at(std::size_t{0}).fail("expected a size in KiB > 0");
        // One point is a flat price (0 allowed: a GPU's per-MAC figure includes its SRAM); a
        // curve is interpolated on logarithms.
        const double pj = p.at(std::size_t{1}).as_number();
        const bool flat = points.size() == 1;
        if (!((flat ? pj >= 0 : pj > 0) && pj < 1e9))
            p.at(std::size_t{1}).fail(flat ? "expected pJ >= 0" : "expected pJ > 0 (on a curve)");
        if (!s.kib_pj_per_64b.empty() && kib <= s.kib_pj_per_64b.back().first)
            p.at(std::size_t{0}).fail("sizes must increase from one point to the next");
        s.kib_pj_per_64b.emplace_back(kib, pj);
    }
    if (auto w = c.find("write_factor")) s.write_factor = non_negative(*w, 1e3);
    return s;
}

FpgaCount capacity(const JsonCursor& d) {
    FpgaCount c;
    auto count = [&](const char* key) {
        return static_cast<double>(d.at(key).as_int(0, int64_t{1} << 40));
    };
    c.lut = count("lut");
    c.ff = count("ff");
    c.dsp = count("dsp");
    c.bram18 = count("bram18");
    c.uram = count("uram");
    return c;
}

// Integral doubles print as integers in the effective config.
nlohmann::ordered_json number(double v) {
    if (v == std::floor(v) && std::fabs(v) < 9e15) return static_cast<int64_t>(v);
    return v;
}

}  // namespace

EnergySpec parse_energy(const JsonCursor& c, bool fpga_target) {
    c.require_object();
    EnergySpec e;
    if (auto s = c.find("source")) s->as_string();
    if (fpga_target) {
        for (const char* datapath_key :
             {"multiply", "add", "register_pj_per_bit", "zero_gating", "sram", "static_mw"})
            if (auto k = c.find(datapath_key))
                k->fail(
                    "an FPGA's datapath, memories and static power are priced from its resources "
                    "(the \"fpga\" section): its energy table holds only dram_pj_per_bit");
        c.allow_keys({"source", "dram_pj_per_bit"});
        e.datapath = false;
        e.dram_pj_per_bit = non_negative(c.at("dram_pj_per_bit"), 1e6);
        return e;
    }
    c.allow_keys({"source", "multiply", "add", "register_pj_per_bit", "zero_gating", "sram",
                  "dram_pj_per_bit", "static_mw"});
    const JsonCursor m = c.at("multiply");
    m.require_object();
    m.allow_keys({"pj", "a_bits", "b_bits", "scaling"});
    e.multiply.pj = non_negative(m.at("pj"), 1e6);
    e.multiply.a_bits = bits(m.at("a_bits"));
    e.multiply.b_bits = bits(m.at("b_bits"));
    e.multiply.scaling = scaling(m.at("scaling"));
    const JsonCursor a = c.at("add");
    a.require_object();
    a.allow_keys({"pj", "bits", "scaling"});
    e.add.pj = non_negative(a.at("pj"), 1e6);
    e.add.bits = bits(a.at("bits"));
    // An addition's energy scales with one width: "product" (two widths) is a multiply's.
    e.add.scaling = *value_of(k_width_scaling_names,
                              a.at("scaling").as_enum({"constant", "linear", "quadratic"}));
    e.register_pj_per_bit = non_negative(c.at("register_pj_per_bit"), 1e6);
    if (auto z = c.find("zero_gating")) {
        z->require_object();
        z->allow_keys({"operand", "multiply", "add"});
        e.zero_gating.operand = z->at("operand").as_enum(k_gated_operand_names);
        e.zero_gating.multiply = fraction(z->at("multiply"));
        e.zero_gating.add = fraction(z->at("add"));
    }
    e.sram = parse_sram(c.at("sram"));
    e.dram_pj_per_bit = non_negative(c.at("dram_pj_per_bit"), 1e6);
    e.static_mw = non_negative(c.at("static_mw"), 1e9);
    return e;
}

FpgaSpec parse_fpga(const JsonCursor& c) {
    c.require_object();
    c.allow_keys({"device", "multipliers", "weights", "thresholds", "power"});
    FpgaSpec f;
    const JsonCursor d = c.at("device");
    d.require_object();
    d.allow_keys({"name", "source", "lut", "ff", "dsp", "bram18", "uram", "static_mw"});
    f.device.name = d.at("name").as_string();
    if (auto s = d.find("source")) s->as_string();
    f.device.capacity = capacity(d);
    f.device.static_mw = non_negative(d.at("static_mw"), 1e9);
    f.multipliers = c.at("multipliers").as_enum(k_multiplier_style_names);
    f.weights = c.at("weights").as_enum(k_weight_memory_names);
    if (auto t = c.find("thresholds")) {
        t->require_object();
        t->allow_keys({"output_bits", "depth"});
        ThresholdSpec ts;
        ts.output_bits = static_cast<int>(t->at("output_bits").as_int(1, 16));
        ts.depth = t->at("depth").as_int(1, int64_t{1} << 24);
        f.thresholds = ts;
    }
    const JsonCursor p = c.at("power");
    p.require_object();
    p.allow_keys({"source", "toggle_rate", "lut_uw_per_mhz", "ff_uw_per_mhz", "dsp_uw_per_mhz",
                  "bram18_uw_per_mhz", "uram_uw_per_mhz"});
    if (auto s = p.find("source")) s->as_string();
    f.power.toggle_rate = fraction(p.at("toggle_rate"));
    f.power.lut_uw_per_mhz = non_negative(p.at("lut_uw_per_mhz"), 1e6);
    f.power.ff_uw_per_mhz = non_negative(p.at("ff_uw_per_mhz"), 1e6);
    f.power.dsp_uw_per_mhz = non_negative(p.at("dsp_uw_per_mhz"), 1e6);
    f.power.bram18_uw_per_mhz = non_negative(p.at("bram18_uw_per_mhz"), 1e6);
    f.power.uram_uw_per_mhz = non_negative(p.at("uram_uw_per_mhz"), 1e6);
    return f;
}

nlohmann::ordered_json energy_json(const EnergySpec& e, const std::string& source) {
    nlohmann::ordered_json j;
    if (!source.empty()) j["source"] = source;
    if (!e.datapath) {
        j["dram_pj_per_bit"] = number(e.dram_pj_per_bit);
        return j;
    }
    j["multiply"] = {{"pj", number(e.multiply.pj)},
                     {"a_bits", e.multiply.a_bits},
                     {"b_bits", e.multiply.b_bits},
                     {"scaling", to_string(e.multiply.scaling)}};
    j["add"] = {
        {"pj", number(e.add.pj)}, {"bits", e.add.bits}, {"scaling", to_string(e.add.scaling)}};
    j["register_pj_per_bit"] = number(e.register_pj_per_bit);
    j["zero_gating"] = {{"operand", to_string(e.zero_gating.operand)},
                        {"multiply", number(e.zero_gating.multiply)},
                        {"add", number(e.zero_gating.add)}};
    nlohmann::ordered_json points = nlohmann::ordered_json::array();
    for (const auto& [kib, pj] : e.sram.kib_pj_per_64b) points.push_back({number(kib), number(pj)});
    j["sram"] = {{"pj_per_64b", points}, {"write_factor", number(e.sram.write_factor)}};
    j["dram_pj_per_bit"] = number(e.dram_pj_per_bit);
    j["static_mw"] = number(e.static_mw);
    return j;
}

nlohmann::ordered_json fpga_json(const FpgaSpec& f, const std::string& device_source,
                                 const std::string& power_source) {
    const FpgaCount& c = f.device.capacity;
    nlohmann::ordered_json device = {{"name", f.device.name}};
    if (!device_source.empty()) device["source"] = device_source;
    device["lut"] = number(c.lut);
    device["ff"] = number(c.ff);
    device["dsp"] = number(c.dsp);
    device["bram18"] = number(c.bram18);
    device["uram"] = number(c.uram);
    device["static_mw"] = number(f.device.static_mw);
    nlohmann::ordered_json power;
    if (!power_source.empty()) power["source"] = power_source;
    power["toggle_rate"] = number(f.power.toggle_rate);
    power["lut_uw_per_mhz"] = number(f.power.lut_uw_per_mhz);
    power["ff_uw_per_mhz"] = number(f.power.ff_uw_per_mhz);
    power["dsp_uw_per_mhz"] = number(f.power.dsp_uw_per_mhz);
    power["bram18_uw_per_mhz"] = number(f.power.bram18_uw_per_mhz);
    power["uram_uw_per_mhz"] = number(f.power.uram_uw_per_mhz);
    return {{"device", device},
            {"multipliers", to_string(f.multipliers)},
            {"weights", to_string(f.weights)},
            {"thresholds", f.thresholds
                               ? nlohmann::ordered_json{{"output_bits", f.thresholds->output_bits},
                                                        {"depth", f.thresholds->depth}}
                               : nlohmann::ordered_json(nullptr)},
            {"power", power}};
}

}  // namespace accsim
