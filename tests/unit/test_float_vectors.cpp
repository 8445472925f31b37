// Every float tensor-core preset against vectors produced by MMA-Sim, the bit-exact models of
// NVIDIA's tensor cores (tests/data/float_vectors/GENERATED_BY.md says how): single instructions
// with a given accumulator input, and chains of four instructions from +0 through the stage
// accsim's presets use. Also the published V100 vectors of Fasi et al. (fasi_v100.json).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datapath/float_accumulator.h"
#include "datapath/float_format.h"
#include "datapath/float_step.h"

using namespace accsim;

namespace {

uint32_t hex(const nlohmann::json& v) {
    return static_cast<uint32_t>(std::stoul(v.get<std::string>(), nullptr, 16));
}

// The register's storage: fp32 bit patterns for e8mY, fp16 for e5m10.
const FloatFormat& storage(const std::string& acc) {
    return operand_float_format(acc == "e5m10" ? "fp16" : "fp32");
}

bool same_value(double got, uint32_t want_code, const FloatFormat& st) {
    const double want = st.to_double(want_code);
    if (std::isnan(want)) return std::isnan(got);
    return got == want && std::signbit(got) == std::signbit(want);
}

void check_file(const std::string& name) {
    const std::string path = std::string(ACCSIM_SOURCE_DIR) + "/tests/data/float_vectors/" + name;
    std::ifstream in(path);
    REQUIRE(in.good());
    const nlohmann::json v = nlohmann::json::parse(in);
    const FloatFormat& fa = operand_float_format(v["a_format"]);
    const FloatFormat& fb = operand_float_format(v["b_format"]);
    const std::string acc = v["acc"];
    const int x = std::stoi(acc.substr(1, acc.find('m') - 1));
    const int y = std::stoi(acc.substr(acc.find('m') + 1));
    const FloatFormat& st = storage(acc);
    const int k = v["k"], halves = v["halves"];
    const int group = k / halves;
    const FloatStep step{register_format(x, y), v["fraction_bits"].get<int>(),
                         v["rounding"] == "rz" ? Rounding::rz : Rounding::rne};
    int single = 0, chain = 0;
    for (const auto& c : v["single"]) {
        double r = st.to_double(hex(c["c"]));
        std::vector<Term> t;
        for (std::size_t i = 0; i < c["a"].size(); ++i)
            t.push_back(product(fa.decode(hex(c["a"][i])), fb.decode(hex(c["b"][i]))));
        for (int h = 0; h < halves; ++h) r = fused_step(t.data() + h * group, group, r, step).value;
        CAPTURE(single);
        CHECK(same_value(r, hex(c["d"]), st));
        ++single;
    }
    AccumulatorSpec spec;
    StageSpec s;
    s.kind = StageKind::floating;
    s.exponent_bits = x;
    s.mantissa_bits = y;
    s.group = group;
    s.fraction_bits = step.fraction_bits;
    s.rounding = step.rounding;
    spec.stages = {s};
    FloatAccumulator a(spec);
    for (const auto& c : v["chain"]) {
        std::vector<FloatValue> xa, wb;
        for (std::size_t i = 0; i < c["a"].size(); ++i) {
            xa.push_back(fa.decode(hex(c["a"][i])));
            wb.push_back(fb.decode(hex(c["b"][i])));
        }
        DotInputs d;
        d.k = static_cast<int64_t>(xa.size());
        d.x = xa.data();
        d.w = wb.data();
        FloatDot out;
        a.run(d, out);
        CAPTURE(chain);
        CHECK(same_value(out.value, hex(c["d"]), st));
        ++chain;
    }
    MESSAGE(name << ": " << single << " single instructions, " << chain << " chains");
    CHECK(single > 0);
}

}  // namespace

TEST_CASE("V100 fp16 (Fasi et al.'s vectors and MMA-Sim's model) bit for bit") {
    check_file("fasi_v100.json");
    check_file("v100_fp16.json");
}
TEST_CASE("A100 fp16 and bf16 mma (k = 16 as two fused halves) bit for bit") {
    check_file("a100_fp16.json");
    check_file("a100_bf16.json");
}
TEST_CASE("H100 fp16 and bf16 wgmma bit for bit, fp32 and fp16 accumulators") {
    check_file("h100_fp16.json");
    check_file("h100_bf16.json");
    check_file("h100_fp16_f16out.json");
}
TEST_CASE("H100 FP8 wgmma (e8m13 accumulator) bit for bit, e4m3 and e5m2") {
    check_file("h100_fp8_e4m3.json");
    check_file("h100_fp8_e5m2.json");
}
TEST_CASE("Ada FP8 mma and Blackwell FP8 bit for bit") {
    check_file("ada_fp8_e4m3.json");
    check_file("b200_fp8_e4m3.json");
}
