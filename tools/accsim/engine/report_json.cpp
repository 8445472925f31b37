#include "engine/report_json.h"

#include "accsim_version.h"
#include "datapath/bounds.h"
#include "engine/report_costs.h"
#include "models/power_units.h"

namespace accsim {

nlohmann::ordered_json wide_to_json(u128 v) {
    if (v <= static_cast<u128>(UINT64_MAX)) return static_cast<uint64_t>(v);
    return static_cast<double>(v);
}

namespace {

nlohmann::ordered_json or_null(bool has, const nlohmann::ordered_json& v) {
    return has ? v : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json timing_json(const LayerTiming& t) {
    const TrafficCounters& b = t.traffic;
    nlohmann::ordered_json j = {
        {"total", t.total},           {"compute", t.compute},       {"stall", t.stall},
        {"dram_stall", b.dram_stall}, {"sram_stall", b.sram_stall}, {"folds", t.folds},
    };
    return j;
}

// Adds the run-only figures of a layer (null in an audit).
nlohmann::ordered_json add_timing(nlohmann::ordered_json out, const LayerTiming* t,
                                  const LayerCost* cost, const HwConfig& config) {
    const bool priced = cost && cost->energy;
    out["energy_pj"] =
        priced ? energy_breakdown_json(*cost->energy) : nlohmann::ordered_json(nullptr);
    out["power_mw"] =
        priced ? nlohmann::ordered_json(*cost->power_mw) : nlohmann::ordered_json(nullptr);
    if (!t) {
        for (const char* k : {"utilization", "mapping_efficiency", "bytes",
                              "dram_bandwidth_bytes_per_cycle", "time_us", "actions"})
            out[k] = nullptr;
        return out;
    }
    const TrafficCounters& b = t->traffic;
    out["cycles"] = timing_json(*t);
    out["utilization"] = t->utilization();
    out["mapping_efficiency"] = t->mapping_efficiency;
    out["bytes"] = {
        {"dram",
         {{"ifmap", b.dram_ifmap},
          {"filter", b.dram_filter},
          {"ofmap", b.dram_ofmap},
          {"total", b.dram()}}},
        {"sram", {{"ifmap", b.sram_ifmap}, {"filter", b.sram_filter}, {"ofmap", b.sram_ofmap}}}};
    out["dram_bandwidth_bytes_per_cycle"] =
        t->total > 0 ? b.dram() / static_cast<double>(t->total) : 0.0;
    out["time_us"] = config.clock_mhz
                         ? nlohmann::ordered_json(static_cast<double>(t->total) / *config.clock_mhz)
                         : nlohmann::ordered_json(nullptr);
    out["actions"] = cost ? actions_json(cost->actions) : nlohmann::ordered_json(nullptr);
    return out;
}

nlohmann::ordered_json timing_only_json(const ReportLayer& r, const HwConfig& config) {
    nlohmann::ordered_json out = {
        {"name", r.name},
        {"op", r.op},
        {"dot_length", r.dot_length},
        {"outputs", r.outputs},
        {"macs", r.macs},
        {"input_bits", nullptr},
        {"input_signed", nullptr},
        {"weight_bits", nullptr},
        {"weight_signed", nullptr},
        {"output_verified", nullptr},
        {"status", nullptr},
        {"at_risk", nullptr},
        {"overflow", nullptr},
        {"bounds", nullptr},
        {"cycles", nullptr},
        {"energy_pj", nullptr},
        {"power_mw", nullptr},
    };
    return add_timing(out, r.timing, r.cost, config);
}

}  // namespace

nlohmann::ordered_json overflow_json(const OverflowStats& ov) {
    return {
        {"events", ov.events},
        {"events_by_stage", ov.events_by_stage},
        {"outputs_with_events", ov.outputs_with_events},
        {"outputs_corrupted", ov.outputs_corrupted},
        {"transient_outputs", ov.outputs_with_events - ov.outputs_corrupted},
        {"max_abs_error", wide_to_json(ov.max_abs_error)},
        {"mean_abs_error", ov.mean_abs_error()},
        {"max_abs_error_real", or_null(ov.has_real_error, ov.max_abs_error_real)},
        {"mean_abs_error_real", or_null(ov.has_real_error, ov.mean_abs_error_real())},
    };
}

nlohmann::ordered_json bounds_json(const LayerAudit& a, const AccumulatorSpec& acc, int64_t k,
                                   const OperandFormat& x, const OperandFormat& q,
                                   int64_t channels) {
    const OverflowStats& ov = a.overflow;
    const bool st = a.bounds.has_value();
    nlohmann::ordered_json stages = nlohmann::ordered_json::array();
    for (std::size_t j = 0; j < acc.stages.size(); ++j) {
        const StageSpec& s = acc.stages[j];
        nlohmann::ordered_json sj;
        sj["bits"] = s.bits;
        const int64_t span = acc.span(j, k);
        sj["tile_products"] = span;
        sj["datatype_bits"] = datatype_bits(span, x, q);
        sj["exact_bits"] = or_null(st, st ? a.bounds->stages()[j].exact_bits : 0);
        sj["observed_bits"] = ov.observed_by_stage[j].bits();
        sj["tiles"] = or_null(st, st ? a.bounds->stages()[j].tiles : 0);
        sj["tiles_at_risk"] = or_null(st, st ? a.bounds->stages()[j].tiles_at_risk : 0);
        stages.push_back(sj);
    }
    return {
        {"datatype_bits", a.datatype_bits},
        {"a2q_bits", or_null(st, st ? a.bounds->a2q_bits() : 0)},
        {"a2q_plus_bits", or_null(st, st ? a.bounds->a2q_plus_bits() : 0)},
        {"a2q_plus_below_exact",
         or_null(st, st && a.bounds->a2q_plus_bits() < a.bounds->exact_bits())},
        {"a2q_plus_unsound_channels", or_null(st, st ? a.bounds->channels_a2q_plus_unsound() : 0)},
        {"exact_bits", or_null(st, st ? a.bounds->exact_bits() : 0)},
        {"exact_bits_with_bias", or_null(st, st ? a.bounds->exact_bits_with_bias() : 0)},
        {"observed_bits", ov.observed_bits()},
        {"channels", channels},
        {"channels_at_risk", or_null(st, st ? a.bounds->channels_at_risk() : 0)},
        {"stages", stages},
    };
}

nlohmann::ordered_json float_json(const FloatStats& f) {
    return {
        {"max_rel_error", f.max_rel_error},
        {"mean_rel_error", f.mean_rel_error()},
        {"max_abs_error", f.max_abs_error},
        {"mean_abs_error", f.mean_abs_error()},
        {"max_ulp_error_fp32", f.max_ulp_error},
        {"not_correctly_rounded_fp32", f.not_correctly_rounded},
        {"inexact_outputs", f.inexact},
        {"swamped", f.swamped()},
        {"swamped_by_stage", f.swamped_by_stage},
        {"events_by_stage", f.events_by_stage},
        {"infinities", f.infinities},
        {"nans", f.nans},
        {"nonfinite_inputs", f.nonfinite_inputs},
        {"corrupted_to_nonfinite", f.corrupted_to_nonfinite},
    };
}

std::string layer_status(const LayerAudit& a) {
    const OverflowStats& ov = a.overflow;
    if (a.floating) {
        // Float layers: rounding error is their nature, reported in "float"; the status says
        // whether an output broke (went infinite or NaN while its exact result is finite).
        return a.floating->corrupted_to_nonfinite ? "corrupted"
               : ov.events                        ? "overflow"
               : a.floating->inexact              ? "inexact"
                                                  : "safe";
    }
    return ov.outputs_corrupted   ? "corrupted"
           : ov.events            ? "overflow"
           : a.statically_at_risk ? "at_risk"
                                  : "safe";
}

namespace {

nlohmann::ordered_json layer_json(const ReportLayer& r, const HwConfig& config) {
    if (!r.audit) return timing_only_json(r, config);
    const LayerAudit& a = *r.audit;
    const LayerSpec& l = *a.layer;
    const OverflowStats& ov = a.overflow;
    const bool statically_at_risk = a.statically_at_risk;
    nlohmann::ordered_json overflow = overflow_json(ov);
    const bool fl = a.floating.has_value();
    if (fl) {  // |final - exact| in values (not accumulator units)
        overflow["transient_outputs"] = nullptr;
        overflow["max_abs_error"] = a.floating->max_abs_error;
        overflow["mean_abs_error"] = a.floating->mean_abs_error();
    }
    const nlohmann::ordered_json bounds =
        fl ? nlohmann::ordered_json(nullptr)
           : bounds_json(a, config.accumulator, l.shape.k, l.x.format, l.q.format,
                         l.shape.channels);
    const bool float_operands = l.is_float();
    // at_risk: something can overflow on some input (static), or did on this trace.
    const bool observed_risk = ov.events > 0;
    const std::string status = layer_status(a);
    nlohmann::ordered_json out = {
        {"name", l.name},
        {"op", to_string(l.op)},
        {"dot_length", l.shape.k},
        {"outputs", l.shape.outputs},
        {"macs", l.macs()},
        {"input_bits", or_null(!float_operands, l.x.format.bits)},
        {"input_signed", or_null(!float_operands, l.x.format.is_signed)},
        {"weight_bits", or_null(!float_operands, l.q.format.bits)},
        {"weight_signed", or_null(!float_operands, l.q.format.is_signed)},
        {"output_verified", or_null(a.output_verified, true)},
        {"status", status},
        {"at_risk", statically_at_risk || observed_risk},
        {"overflow", overflow},
        {"bounds", bounds},
        {"cycles", nullptr},
        {"energy_pj", nullptr},
        {"power_mw", nullptr},
    };
    // Float layers add their formats and the "float" section (integer reports stay as they were).
    if (fl) {
        out["input_format"] = float_operands ? nlohmann::ordered_json(l.x.float_format->name)
                                             : nlohmann::ordered_json(nullptr);
        out["weight_format"] = float_operands ? nlohmann::ordered_json(l.q.float_format->name)
                                              : nlohmann::ordered_json(nullptr);
        out["float"] = float_json(*a.floating);
    }
    return add_timing(out, r.timing, r.cost, config);
}

// A GPU preset's chip: its SMs and the peak rate the preset's numbers give (compare with the data
// sheet).
nlohmann::ordered_json gpu_json(const HwConfig& c) {
    if (!c.gpu || !c.array || !c.clock_mhz) return nullptr;
    const ArraySpec& a = *c.array;
    const double per_sm = static_cast<double>(a.units * a.m * a.n * a.k) / a.mma_cycles;
    return {{"sms", c.gpu->sms},
            {"macs_per_cycle_per_sm", per_sm},
            {"peak_tops", 2 * per_sm * c.gpu->sms * *c.clock_mhz * 1e6 / 1e12},
            {"modelled", "one SM: cycles, energy and power are one SM's share"}};
}

}  // namespace

ReportLayer report_layer(const LayerAudit& audit, const LayerTiming* timing,
                         const LayerCost* cost) {
    const LayerSpec& l = *audit.layer;
    return ReportLayer{l.name,   to_string(l.op), l.shape.k, l.shape.outputs,
                       l.macs(), &audit,          timing,    cost};
}

nlohmann::ordered_json trace_section(const Trace& trace, std::size_t reported) {
    return {{"path", trace.dir()},
            {"model", trace.model()},
            {"source", trace.source()},
            {"tensor_files", trace.tensor_files()},
            {"layers_in_trace", trace.layers().size()},
            {"layers_reported", reported}};
}

nlohmann::ordered_json build_report(const std::string& command, nlohmann::ordered_json source,
                                    const HwConfig& config, const std::vector<ReportLayer>& rows,
                                    const RunCosts* costs) {
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    uint64_t macs = 0, events = 0, corrupted = 0, with_events = 0, outputs = 0, at_risk = 0;
    bool audited = false, timed = false;
    int64_t cycles = 0, stall = 0;
    double pe = 0;
    double dram = 0;
    std::optional<EnergyBreakdown> energy;
    for (const ReportLayer& r : rows) {
        if (r.cost && r.cost->energy) {
            if (!energy) energy = EnergyBreakdown{};
            energy->add(*r.cost->energy);
        }
        layers.push_back(layer_json(r, config));
        macs += static_cast<uint64_t>(r.macs);
        if (r.audit) {
            audited = true;
            const OverflowStats& ov = r.audit->overflow;
            outputs += ov.outputs;
            events += ov.events;
            corrupted += ov.outputs_corrupted;
            with_events += ov.outputs_with_events;
            at_risk += layers.back()["at_risk"].get<bool>();
        }
        if (r.timing) {
            timed = true;
            cycles += r.timing->total;
            stall += r.timing->stall;
            dram += r.timing->traffic.dram();
            pe = r.timing->pe_count;
        }
    }
    // The widest requirement over the layers: one register this wide serves the whole model.
    nlohmann::ordered_json bounds;
    for (const char* key :
         {"datatype_bits", "a2q_bits", "a2q_plus_bits", "exact_bits", "observed_bits"}) {
        nlohmann::ordered_json widest = nullptr;
        for (const auto& l : layers) {
            if (l["bounds"].is_null()) continue;
            const auto& v = l["bounds"][key];
            if (!v.is_null() && (widest.is_null() || v.get<int>() > widest.get<int>())) widest = v;
        }
        bounds[key] = widest;
    }
    const auto num = [](bool has, auto v) {
        return has ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
    };
    return {
        {"schema", k_report_schema},
        {"tool", {{"name", "accsim"}, {"version", k_version}}},
        {"command", command},
        {"trace", source},
        {"config", config.effective},
        {"layers", layers},
        {"totals",
         {{"layers", rows.size()},
          {"layers_at_risk", num(audited, at_risk)},
          {"macs", macs},
          {"outputs", num(audited, outputs)},
          {"overflow", audited ? nlohmann::ordered_json{{"events", events},
                                                        {"outputs_with_events", with_events},
                                                        {"outputs_corrupted", corrupted}}
                               : nlohmann::ordered_json(nullptr)},
          {"bounds", bounds},
          {"cycles", num(timed, cycles)},
          {"stall_cycles", num(timed, stall)},
          {"utilization", num(timed && cycles > 0 && pe > 0,
                              static_cast<double>(macs) / (static_cast<double>(pe) * cycles))},
          {"dram_bytes", num(timed, dram)},
          {"time_us", num(timed && config.clock_mhz.has_value(),
                          config.clock_mhz ? cycles / *config.clock_mhz : 0.0)},
          {"energy_pj", num(energy.has_value(), energy ? energy->total() : 0.0)},
          {"energy_breakdown_pj",
           energy ? energy_breakdown_json(*energy) : nlohmann::ordered_json(nullptr)},
          {"power_mw", num(energy && timed && cycles > 0 && config.clock_mhz.has_value(),
                           energy && config.clock_mhz
                               ? power_of_energy(energy->total(), cycles, *config.clock_mhz)
                               : 0.0)}}},
        {"gpu", gpu_json(config)},
        {"fpga", costs && costs->fpga && config.fpga
                     ? fpga_report_json(*costs->fpga, *config.fpga, costs->x_bits, costs->w_bits)
                     : nlohmann::ordered_json(nullptr)},
    };
}

}  // namespace accsim
