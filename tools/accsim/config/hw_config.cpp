#include "config/hw_config.h"

#include <map>

#include "config/acc_shorthand.h"
#include "config/cost_config.h"
#include "config/json_set.h"
#include "datapath/float_format.h"
#include "datapath/float_step.h"
#include "datapath/input_error.h"
#include "models/array_kind.h"
#include "models/stage_mapping.h"
#include "scalesim/scalesim.h"
#include "traces/json_cursor.h"

namespace accsim {

namespace {

double positive_number(const JsonCursor& c) {
    const double v = c.as_number();
    if (!(v > 0 && v < 1e15)) c.fail("expected a positive number, got " + brief(c.value()));
    return v;
}

int64_t positive(const JsonCursor& c, int64_t hi) {
    const nlohmann::json& v = c.value();
    if (v.is_number() && v.get<double>() <= 0)
        c.fail("expected a positive integer, got " + brief(v));
    return c.as_int(1, hi);
}

// "kind", then the kind's own keys (models/arrays/).
ArraySpec parse_array(const JsonCursor& a) {
    a.require_object();
    ArraySpec s;
    s.kind = a.at("kind").as_enum(k_array_kind_names);
    array_kind_model(s.kind).parse(a, s);
    return s;
}

// A bandwidth in bytes per cycle. The floor keeps every transfer's cycle count (at most 2^53
// bytes in a layer) far inside 64 bits; no real memory is slower than a byte per 1000 cycles.
double bandwidth(const JsonCursor& c) {
    constexpr double k_least = 1e-3;
    const double v = positive_number(c);
    if (v < k_least)
        c.fail("expected a bandwidth of at least 0.001 bytes per cycle, got " + brief(c.value()));
    return v;
}

BufferSpec parse_buffer(const JsonCursor& b) {
    b.require_object();
    b.allow_keys({"size_kb", "bandwidth_bytes_per_cycle", "double_buffered"});
    BufferSpec s;
    s.size_kb = positive_number(b.at("size_kb"));
    s.bandwidth = bandwidth(b.at("bandwidth_bytes_per_cycle"));
    if (auto d = b.find("double_buffered")) s.double_buffered = d->as_bool();
    return s;
}

MemorySpec parse_memory(const JsonCursor& m) {
    m.require_object();
    m.allow_keys({"ifmap", "filter", "ofmap", "dram"});
    MemorySpec s;
    s.ifmap = parse_buffer(m.at("ifmap"));
    s.filter = parse_buffer(m.at("filter"));
    s.ofmap = parse_buffer(m.at("ofmap"));
    const JsonCursor d = m.at("dram");
    d.require_object();
    d.allow_keys({"bandwidth_bytes_per_cycle", "latency_cycles"});
    s.dram.bandwidth = bandwidth(d.at("bandwidth_bytes_per_cycle"));
    s.dram.latency_cycles = d.at("latency_cycles").as_int(0, int64_t{1} << 30);
    return s;
}

nlohmann::ordered_json buffer_json(const BufferSpec& b) {
    return {{"size_kb", b.size_kb},
            {"bandwidth_bytes_per_cycle", b.bandwidth},
            {"double_buffered", b.double_buffered}};
}

nlohmann::ordered_json memory_json(const MemorySpec& m) {
    return {{"ifmap", buffer_json(m.ifmap)},
            {"filter", buffer_json(m.filter)},
            {"ofmap", buffer_json(m.ofmap)},
            {"dram",
             {{"bandwidth_bytes_per_cycle", m.dram.bandwidth},
              {"latency_cycles", m.dram.latency_cycles}}}};
}

nlohmann::ordered_json array_json(const ArraySpec& s) {
    nlohmann::ordered_json j = {{"kind", to_string(s.kind)}};
    const nlohmann::ordered_json keys = array_kind_model(s.kind).echo(s);
    for (const auto& [key, value] : keys.items()) j[key] = value;
    return j;
}

AccumulatorSpec parse_accumulator(const JsonCursor& a) {
    a.require_object();
    a.allow_keys({"stages", "bias"});
    AccumulatorSpec acc;
    if (auto b = a.find("bias")) {
        acc.bias = b->as_enum(k_bias_names);
    }
    const JsonCursor stages = a.at("stages");
    if (stages.size() == 0) stages.fail("expected at least one stage");
    for (std::size_t j = 0; j < stages.size(); ++j) {
        const JsonCursor st = stages.at(j);
        st.require_object();
        StageSpec s;
        if (auto k = st.find("kind")) s.kind = k->as_enum(k_stage_kind_names);
        if (s.is_float()) {
            st.allow_keys({"kind", "length", "exponent_bits", "mantissa_bits", "group",
                           "fraction_bits", "rounding"});
            s.exponent_bits =
                static_cast<int>(st.at("exponent_bits")
                                     .as_int(k_min_float_exponent_bits, k_max_float_exponent_bits));
            s.mantissa_bits =
                static_cast<int>(st.at("mantissa_bits")
                                     .as_int(k_min_float_mantissa_bits, k_max_float_mantissa_bits));
            s.bits = std::max(k_min_acc_bits,
                              std::min(k_max_acc_bits, 1 + s.exponent_bits + s.mantissa_bits));
            if (auto g = st.find("group")) s.group = g->as_int(1, k_max_float_group);
            if (auto f = st.find("fraction_bits"); f && !f->value().is_null())
                s.fraction_bits = static_cast<int>(f->as_int(0, k_max_fraction_bits));
            if (auto r = st.find("rounding")) s.rounding = r->as_enum(k_rounding_names);
        } else {
            st.allow_keys({"kind", "bits", "length", "overflow", "reduction"});
            s.bits = static_cast<int>(st.at("bits").as_int(k_min_acc_bits, k_max_acc_bits));
            if (auto o = st.find("overflow")) s.overflow = o->as_enum(k_overflow_names);
            if (auto r = st.find("reduction")) s.reduction = r->as_enum(k_reduction_names);
            if (j > 0 && acc.stages.back().is_float())
                st.fail(
                    "an integer stage cannot follow a float stage (integer tiles may feed float "
                    "stages, not the reverse)");
        }
        const bool last = j + 1 == stages.size();
        if (auto len = st.find("length")) {
            if (last)
                len->fail(
                    "the last stage takes no length: its one tile covers the whole dot product");
            s.length = positive(*len, INT64_MAX);
        } else if (!last) {
            st.fail(
                "missing required key \"length\" (every stage but the last splits its inputs into "
                "tiles)");
        }
        acc.stages.push_back(s);
    }
    if (acc.has_float()) {
        for (std::size_t j = 0; j < acc.first_float(); ++j)
            if (acc.stages[j].reduction != Reduction::sequential)
                stages.at(j)
                    .at("reduction")
                    .fail(
                        "integer stages that feed a float stage add in sequence (\"tree\" is not "
                        "modelled there)");
    }
    return acc;
}

nlohmann::ordered_json accumulator_json(const AccumulatorSpec& acc) {
    nlohmann::ordered_json stages = nlohmann::ordered_json::array();
    for (const StageSpec& s : acc.stages) {
        nlohmann::ordered_json j;
        if (s.is_float()) {
            j["kind"] = "float";
            if (s.length) j["length"] = *s.length;
            j["exponent_bits"] = s.exponent_bits;
            j["mantissa_bits"] = s.mantissa_bits;
            j["group"] = s.group;
            j["fraction_bits"] =
                s.fraction_bits ? nlohmann::ordered_json(*s.fraction_bits) : nullptr;
            j["rounding"] = to_string(s.rounding);
            stages.push_back(j);
            continue;
        }
        if (s.length) j["length"] = *s.length;
        j["bits"] = s.bits;
        j["overflow"] = to_string(s.overflow);
        j["reduction"] = to_string(s.reduction);
        stages.push_back(j);
    }
    return {{"stages", stages}, {"bias", to_string(acc.bias)}};
}

std::string source_of(const std::optional<JsonCursor>& c) {
    if (!c) return "";
    auto s = c->find("source");
    return s ? s->as_string() : "";
}

// The cost sections, and the rules that tie them to the target and the array.
void parse_costs(const JsonCursor& root, HwConfig& c) {
    const bool fpga = c.target == Target::fpga;
    if (auto f = root.find("fpga")) {
        if (!fpga) f->fail("an \"fpga\" section belongs to \"target\": \"fpga\"");
        if (c.array && !array_kind_model(c.array->kind).has_fpga_model())
            root.at("array").at("kind").fail(
                "FPGA resources are modelled for vector units and systolic arrays, not tensor "
                "cores");
        c.fpga = parse_fpga(*f);
    }
    if (auto g = root.find("gpu")) {
        if (c.target != Target::gpu) g->fail("a \"gpu\" section belongs to \"target\": \"gpu\"");
        if (c.array && c.array->kind != ArrayKind::tensor_core)
            g->fail("a GPU preset models one SM of tensor cores: \"array\" must be a tensor_core");
        g->require_object();
        g->allow_keys({"sms", "source"});
        if (auto s = g->find("source")) s->as_string();
        c.gpu = GpuSpec{g->at("sms").as_int(1, 100000)};
    }
    if (auto e = root.find("energy")) {
        if (fpga && !c.fpga)
            e->fail(
                "an FPGA prices its datapath from its resources: add an \"fpga\" section "
                "(device, multipliers, weights, power)");
        c.energy = parse_energy(*e, fpga);
    }
}

}  // namespace

HwConfig parse_config(const nlohmann::json& doc, const std::string& file, bool hardware_required) {
    const JsonCursor root(doc, file);
    root.require_object();
    root.allow_keys({"name", "description", "target", "clock_mhz", "array", "memory", "timing",
                     "mapping", "accumulator", "energy", "fpga", "gpu"});
    HwConfig c;
    c.name = root.at("name").as_string();
    if (auto d = root.find("description")) d->as_string();
    auto section = [&](const char* key) {
        return hardware_required ? std::optional(root.at(key)) : root.find(key);
    };
    if (auto t = section("target")) {
        c.target = t->as_enum(k_target_names);
    }
    if (auto clk = section("clock_mhz")) {
        const double mhz = clk->as_number();
        if (!(mhz > 0 && mhz <= 1e5))
            clk->fail("expected a clock in MHz in (0, 100000], got " + brief(clk->value()));
        c.clock_mhz = mhz;
    }
    if (auto a = section("array")) c.array = parse_array(*a);
    if (auto m = root.find("mapping")) {
        m->require_object();
        m->allow_keys({"k_order"});
        if (auto k = m->find("k_order")) c.k_order = k->as_enum(k_k_order_names);
    }
    if (auto m = root.find("memory")) c.memory = parse_memory(*m);
    if (auto t = root.find("timing")) {
        t->require_object();
        t->allow_keys({"convention", "dram_stalls", "sram_limits"});
        if (auto v = t->find("convention"))
            c.timing.convention = v->as_enum(k_timing_convention_names);
        if (auto v = t->find("dram_stalls")) c.timing.dram_stalls = v->as_bool();
        if (auto v = t->find("sram_limits")) c.timing.sram_limits = v->as_bool();
    }
    c.accumulator = parse_accumulator(root.at("accumulator"));
    parse_costs(root, c);
    if (c.array) {
        if (auto p = check_stage_mapping(*c.array, c.accumulator)) {
            const JsonCursor stage = root.at("accumulator").at("stages").at(p->stage);
            (p->field.empty() || !stage.find(p->field) ? stage : stage.at(p->field)).fail(p->what);
        }
    }

    nlohmann::ordered_json& e = c.effective;
    e["name"] = c.name;
    if (auto d = root.find("description")) e["description"] = d->as_string();
    e["target"] =
        c.target ? nlohmann::ordered_json(to_string(*c.target)) : nlohmann::ordered_json(nullptr);
    e["clock_mhz"] = nullptr;
    if (c.clock_mhz) {
        const double mhz = *c.clock_mhz;
        e["clock_mhz"] = mhz == static_cast<double>(static_cast<int64_t>(mhz))
                             ? nlohmann::ordered_json(static_cast<int64_t>(mhz))
                             : nlohmann::ordered_json(mhz);
    }
    e["array"] = c.array ? array_json(*c.array) : nlohmann::ordered_json(nullptr);
    e["memory"] = c.memory ? memory_json(*c.memory) : nlohmann::ordered_json(nullptr);
    e["timing"] = {{"convention", to_string(c.timing.convention)},
                   {"dram_stalls", c.timing.dram_stalls},
                   {"sram_limits", c.timing.sram_limits}};
    e["mapping"] = {{"k_order", to_string(c.k_order)}};
    e["accumulator"] = accumulator_json(c.accumulator);
    e["energy"] = c.energy ? energy_json(*c.energy, source_of(root.find("energy")))
                           : nlohmann::ordered_json(nullptr);
    if (c.fpga) {
        const JsonCursor f = root.at("fpga");
        e["fpga"] = fpga_json(*c.fpga, source_of(f.at("device")), source_of(f.at("power")));
    } else {
        e["fpga"] = nullptr;
    }
    e["gpu"] = nullptr;
    if (c.gpu) {
        e["gpu"] = {{"sms", c.gpu->sms}};
        if (auto s = source_of(root.find("gpu")); !s.empty()) e["gpu"]["source"] = s;
    }
    return c;
}

HwConfig load_config(const ConfigSources& src) {
    nlohmann::json doc;
    std::string file;
    if (src.file) {
        file = *src.file;
        doc = is_scalesim_cfg(file) ? scalesim_cfg_to_json(file) : read_json_file(file);
        if (!doc.is_object())
            throw InputError(file, "/", "expected a JSON object, got " + brief(doc));
    } else {
        if (!src.acc)
            throw InputError("command line", "--config", "give --config FILE or --acc SPEC");
        file = "--acc";
        doc = {{"name", "acc " + *src.acc}, {"accumulator", nlohmann::json::object()}};
    }
    // Which source set each overridden JSON pointer, so errors name --set or --acc, not the file.
    // --acc replaces the stages first, so that --set can still adjust one of them.
    std::vector<std::pair<std::string, std::string>> origins;
    if (src.acc) {
        if (!doc.contains("accumulator") || !doc["accumulator"].is_object())
            doc["accumulator"] = nlohmann::json::object();
        doc["accumulator"]["stages"] = parse_acc_shorthand(*src.acc);
        origins.emplace_back("/accumulator/stages", "--acc");
    }
    for (const std::string& s : src.sets) origins.emplace_back(apply_json_set(doc, s), "--set");
    try {
        return parse_config(doc, file, src.file.has_value());
    } catch (const InputError& e) {
        // The pointer the error is about: an unknown key is reported at its parent object.
        std::string subject = e.field();
        const std::string unknown = "unknown key \"";
        if (e.problem().rfind(unknown, 0) == 0) {
            const auto end = e.problem().find('"', unknown.size());
            subject = (subject == "/" ? "" : subject) + "/" +
                      JsonCursor::escape(e.problem().substr(unknown.size(), end - unknown.size()));
        }
        std::string origin;
        std::size_t best = 0;
        for (const auto& [ptr, who] : origins) {
            const bool prefix = subject.compare(0, ptr.size(), ptr) == 0 &&
                                (subject.size() == ptr.size() || subject[ptr.size()] == '/');
            if (prefix && ptr.size() >= best) {
                best = ptr.size();
                origin = who;
            }
        }
        if (origin.empty() || origin == e.file()) throw;
        throw InputError(origin, e.field(), e.problem());
    }
}

}  // namespace accsim
