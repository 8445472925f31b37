#include "engine/report_costs.h"

#include <algorithm>
#include <cmath>

namespace accsim {

namespace {

nlohmann::ordered_json opt(const std::optional<double>& v) {
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

// Resources are whole: a fraction of a LUT is a LUT.
int64_t whole(double v) {
    return static_cast<int64_t>(std::ceil(v - 1e-9));
}

nlohmann::ordered_json count_json(const FpgaCount& c) {
    return {{"lut", whole(c.lut)},
            {"ff", whole(c.ff)},
            {"dsp", whole(c.dsp)},
            {"bram18", whole(c.bram18)},
            {"uram", whole(c.uram)}};
}

}  // namespace

nlohmann::ordered_json energy_breakdown_json(const EnergyBreakdown& e) {
    return {{"total", e.total()},
            {"multiply", e.multiply},
            {"stages", e.stages},
            {"transfers", e.transfers},
            {"sram", {{"ifmap", e.sram_ifmap}, {"filter", e.sram_filter}, {"ofmap", e.sram_ofmap}}},
            {"dram", e.dram},
            {"static", e.leakage},
            {"control", opt(e.control)},
            {"thresholds", opt(e.thresholds)}};
}

nlohmann::ordered_json actions_json(const LayerActions& a) {
    nlohmann::ordered_json stages = nlohmann::ordered_json::array();
    for (const StageActions& s : a.stages)
        stages.push_back({{"bits", s.bits},
                          {"inputs", s.inputs},
                          {"additions", s.additions},
                          {"passed_on", s.passed_on}});
    return {
        {"multiplies", a.macs},
        {"zero_products", a.zero_products ? nlohmann::ordered_json(a.zero_products->either)
                                          : nlohmann::ordered_json(nullptr)},
        {"zero_input_products", a.zero_products ? nlohmann::ordered_json(a.zero_products->input)
                                                : nlohmann::ordered_json(nullptr)},
        {"zero_weight_products", a.zero_products ? nlohmann::ordered_json(a.zero_products->weight)
                                                 : nlohmann::ordered_json(nullptr)},
        {"stages", stages},
        {"sram_read_bytes",
         {{"ifmap", a.ifmap_reads}, {"filter", a.filter_reads}, {"ofmap", a.ofmap_reads}}},
        {"sram_write_bytes",
         {{"ifmap", a.ifmap_writes}, {"filter", a.filter_writes}, {"ofmap", a.ofmap_writes}}},
        {"dram_bytes", a.dram_bytes}};
}

nlohmann::ordered_json fpga_report_json(const FpgaResources& r, const FpgaSpec& f, int x_bits,
                                        int w_bits) {
    const FpgaCount t = r.total(), cap = f.device.capacity;
    nlohmann::ordered_json utilization, over;
    bool fits = true;
    const std::pair<const char*, double> used[] = {
        {"lut", t.lut}, {"ff", t.ff}, {"dsp", t.dsp}, {"bram18", t.bram18}, {"uram", t.uram}};
    const double caps[] = {cap.lut, cap.ff, cap.dsp, cap.bram18, cap.uram};
    for (std::size_t i = 0; i < 5; ++i) {
        const auto& [name, n] = used[i];
        // A device without this resource: 0 when none is needed, else null (no fraction).
        utilization[name] = caps[i] > 0 ? nlohmann::ordered_json(n / caps[i])
                            : n > 0     ? nlohmann::ordered_json(nullptr)
                                        : nlohmann::ordered_json(0.0);
        over[name] = whole(std::max(0.0, n - caps[i]));
        if (n > caps[i]) fits = false;
    }
    nlohmann::ordered_json stages = nlohmann::ordered_json::array();
    for (const FpgaCount& s : r.stages) stages.push_back(count_json(s));
    nlohmann::ordered_json device = {{"name", f.device.name}};
    device.update(count_json(cap));
    return {{"device", device},
            {"operand_bits", {{"input", x_bits}, {"weight", w_bits}}},
            {"resources", count_json(t)},
            {"by_component",
             {{"multiply", count_json(r.multiply)},
              {"stages", stages},
              {"thresholds", count_json(r.thresholds)},
              {"control", count_json(r.control)},
              {"ifmap", count_json(r.ifmap)},
              {"filter", count_json(r.filter)},
              {"ofmap", count_json(r.ofmap)}}},
            {"utilization", utilization},
            {"fits", fits},
            {"over", over}};
}

}  // namespace accsim
