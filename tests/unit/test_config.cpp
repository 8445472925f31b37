// Hardware configurations: the reference example (configs/default.json), defaults, every rule with
// its message, and the --set / --acc overrides with errors attributed to the option that caused
// them.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "config/acc_shorthand.h"
#include "config/hw_config.h"
#include "config/json_set.h"
#include "datapath/input_error.h"

using namespace accsim;
using nlohmann::json;

namespace {

json example() {
    return json::parse(R"({ "name": "systolic-32x32-ws", "target": "asic", "clock_mhz": 1000,
      "array": {"kind": "systolic", "rows": 32, "cols": 32, "dataflow": "ws"},
      "mapping": {"k_order": "c_kh_kw"},
      "accumulator": {"stages": [{"length": 32, "bits": 24, "overflow": "wrap"},
                                 {"bits": 32, "overflow": "saturate"}], "bias": "last"} })");
}

// The message of the InputError that parsing `doc` throws ("" if none).
std::string error_of(const json& doc) {
    try {
        parse_config(doc, "x.json", true);
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

std::string error_of(const ConfigSources& s) {
    try {
        load_config(s);
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

std::string write_temp(const std::string& name, const std::string& text) {
    const std::string path = std::string(ACCSIM_TEST_TMP) + "/" + name;
    std::system(("mkdir -p " + std::string(ACCSIM_TEST_TMP)).c_str());
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST_CASE(
    "the reference example config parses into specs, with defaults filled in the effective "
    "config") {
    const HwConfig c = parse_config(example(), "x.json", true);
    CHECK(c.name == "systolic-32x32-ws");
    CHECK(c.target == Target::asic);
    CHECK(*c.clock_mhz == 1000);
    REQUIRE(c.array);
    CHECK(c.array->rows == 32);
    CHECK(c.array->dataflow == Dataflow::ws);
    REQUIRE(c.accumulator.stages.size() == 2);
    CHECK(*c.accumulator.stages[0].length == 32);
    CHECK(c.accumulator.stages[0].bits == 24);
    CHECK(c.accumulator.stages[1].overflow == OverflowMode::saturate);
    CHECK_FALSE(c.accumulator.stages[1].length);
    CHECK(c.effective["accumulator"]["stages"][0]["reduction"] == "sequential");
    CHECK(c.effective["mapping"]["k_order"] == "c_kh_kw");
    CHECK(c.effective["accumulator"]["bias"] == "last");
}

TEST_CASE("configs/default.json is valid") {
    ConfigSources s;
    s.file = std::string(ACCSIM_SOURCE_DIR) + "/configs/default.json";
    CHECK_NOTHROW(load_config(s));
}

TEST_CASE("config rules, each with its located message") {
    json j = example();
    j["accumulator"]["stages"][1]["overfow"] = "wrap";
    CHECK(error_of(j) ==
          "x.json: /accumulator/stages/1: unknown key \"overfow\" (valid: kind, bits, length, "
          "overflow, "
          "reduction)");

    j = example();
    j["colour"] = 1;
    CHECK(error_of(j) ==
          "x.json: /: unknown key \"colour\" (valid: name, description, target, clock_mhz, array, "
          "memory, timing, mapping, accumulator, energy, fpga, gpu)");

    j = example();
    j["accumulator"]["stages"] = json::array();
    CHECK(error_of(j) == "x.json: /accumulator/stages: expected at least one stage");

    for (int bits : {1, 65, 0, -8}) {
        j = example();
        j["accumulator"]["stages"][1]["bits"] = bits;
        CHECK(error_of(j) ==
              "x.json: /accumulator/stages/1/bits: expected an integer in [2, 64], got " +
                  std::to_string(bits));
    }
    j = example();
    j["accumulator"]["stages"][0]["bits"] = "16";
    CHECK(error_of(j) ==
          "x.json: /accumulator/stages/0/bits: expected an integer in [2, 64], got \"16\"");
    j["accumulator"]["stages"][0]["bits"] = 16.5;
    CHECK(error_of(j) ==
          "x.json: /accumulator/stages/0/bits: expected an integer in [2, 64], got 16.5");

    for (int len : {0, -3}) {
        j = example();
        j["accumulator"]["stages"][0]["length"] = len;
        CHECK(error_of(j) ==
              "x.json: /accumulator/stages/0/length: expected a positive integer, got " +
                  std::to_string(len));
    }
    j = example();
    j["accumulator"]["stages"][1]["length"] = 8;
    CHECK(error_of(j) ==
          "x.json: /accumulator/stages/1/length: the last stage takes no length: its one tile "
          "covers the whole dot product");
    j = example();
    j["accumulator"]["stages"][0].erase("length");
    CHECK(
        error_of(j) ==
        "x.json: /accumulator/stages/0: missing required key \"length\" (every stage but the last "
        "splits its inputs into tiles)");

    j = example();
    j["accumulator"]["stages"][0]["overflow"] = "wrp";
    CHECK(error_of(j) ==
          "x.json: /accumulator/stages/0/overflow: expected one of \"wrap\", \"saturate\", got "
          "\"wrp\"");
    j = example();
    j["accumulator"]["stages"][0]["reduction"] = "pairwise";
    CHECK(error_of(j) ==
          "x.json: /accumulator/stages/0/reduction: expected one of \"sequential\", \"tree\", got "
          "\"pairwise\"");
    j = example();
    j["mapping"]["k_order"] = "nhwc";
    CHECK(error_of(j) ==
          "x.json: /mapping/k_order: expected one of \"c_kh_kw\", \"kh_kw_c\", got \"nhwc\"");
    j = example();
    j["accumulator"]["bias"] = "middle";
    CHECK(
        error_of(j) ==
        "x.json: /accumulator/bias: expected one of \"last\", \"first\", \"none\", got \"middle\"");

    j = example();
    j.erase("array");
    CHECK(error_of(j) == "x.json: /: missing required key \"array\"");
    j = example();
    j["array"]["kind"] = "mesh";
    CHECK(error_of(j) ==
          "x.json: /array/kind: expected one of \"systolic\", \"vector\", \"tensor_core\", got "
          "\"mesh\"");
    j = example();
    j["array"]["dataflow"] = "rs";
    CHECK(error_of(j) ==
          "x.json: /array/dataflow: expected one of \"os\", \"ws\", \"is\", got \"rs\"");
    j = example();
    j["array"] = {{"kind", "vector"}, {"pe", 4}, {"rows", 2}, {"simd", 8}};
    CHECK(error_of(j) == "x.json: /array: unknown key \"rows\" (valid: kind, pe, simd)");
    j = example();
    j["array"]["rows"] = 0;
    CHECK(error_of(j) == "x.json: /array/rows: expected a positive integer, got 0");
    j = example();
    j["clock_mhz"] = 0;
    CHECK(error_of(j) == "x.json: /clock_mhz: expected a clock in MHz in (0, 100000], got 0");
    j = example();
    j["target"] = "cpu";
    CHECK(error_of(j) ==
          "x.json: /target: expected one of \"asic\", \"fpga\", \"gpu\", got \"cpu\"");
}

TEST_CASE("the other array kinds parse, with stages that fit them") {
    json j = example();
    j["array"] = {{"kind", "vector"}, {"pe", 16}, {"simd", 32}};
    j["accumulator"]["stages"] =
        json::parse(R"([{"length": 32, "bits": 16, "reduction": "tree"}, {"bits": 24}])");
    CHECK(parse_config(j, "x.json", true).array->simd == 32);
    j["array"] = {{"kind", "tensor_core"}, {"m", 16},        {"n", 8}, {"k", 32},
                  {"units", 432},          {"mma_cycles", 2}};
    const HwConfig c = parse_config(j, "x.json", true);
    CHECK(c.array->kind == ArrayKind::tensor_core);
    CHECK(c.effective["array"]["units"] == 432);
}

TEST_CASE("stages that contradict the array are located errors") {
    json j = example();  // ws, 32 rows
    j["accumulator"]["stages"][0]["length"] = 64;
    CHECK(error_of(j) ==
          "x.json: /accumulator/stages/0/length: a ws array of 32 rows adds 32 products down each "
          "column; stage 1's length 64 contradicts it (use 32, or one stage chained through the "
          "accumulator)");
    j = example();
    j["accumulator"]["stages"][0]["reduction"] = "tree";
    CHECK(error_of(j) ==
          "x.json: /accumulator/stages/0/reduction: a ws array adds down each column one product "
          "per PE: stage 1 is a sequential chain, not a tree");
    j = example();
    j["accumulator"]["stages"] = json::parse(R"([{"bits": 20}])");
    CHECK(error_of(j).empty());  // one register chained through the accumulator buffer
    j["array"]["dataflow"] = "os";
    j["accumulator"]["stages"] = json::parse(R"([{"length": 7, "bits": 16}, {"bits": 32}])");
    CHECK(error_of(j).empty());  // an os PE may hand its partial sum on every 7 products
    j["array"] = {{"kind", "vector"}, {"pe", 4}, {"simd", 8}};
    j["accumulator"]["stages"] = json::parse(R"([{"bits": 20}])");
    CHECK(error_of(j) ==
          "x.json: /accumulator/stages/0: a vector unit adds its 8 SIMD products in an adder tree "
          "before its accumulator: give two stages, the tree (length 8, reduction tree) and the "
          "accumulator");
    j["accumulator"]["stages"] =
        json::parse(R"([{"length": 4, "bits": 16, "reduction": "tree"}, {"bits": 20}])");
    CHECK(error_of(j) ==
          "x.json: /accumulator/stages/0/length: a vector unit's adder tree takes 8 products; "
          "stage 1's length 4 contradicts it");
    j["array"] = {{"kind", "tensor_core"}, {"m", 16}, {"n", 8}, {"k", 32}, {"units", 4},
                  {"mma_cycles", 2}};
    j["accumulator"]["stages"] = json::parse(R"([{"length": 16, "bits": 32}, {"bits": 32}])");
    CHECK(error_of(j) ==
          "x.json: /accumulator/stages/0/length: an MMA of k = 32 adds 32 products; stage 1's "
          "length 16 contradicts it");
}

TEST_CASE("the memory section: buffers and DRAM with units, every field checked") {
    json j = example();
    j["memory"] = json::parse(R"({"ifmap": {"size_kb": 64, "bandwidth_bytes_per_cycle": 32},
        "filter": {"size_kb": 64, "bandwidth_bytes_per_cycle": 32, "double_buffered": false},
        "ofmap": {"size_kb": 32, "bandwidth_bytes_per_cycle": 16},
        "dram": {"bandwidth_bytes_per_cycle": 8, "latency_cycles": 100}})");
    const HwConfig c = parse_config(j, "x.json", true);
    REQUIRE(c.memory);
    CHECK(c.memory->ifmap.bytes() == 65536);
    CHECK(c.memory->ifmap.tile_capacity() == 32768);  // double-buffered by default
    CHECK(c.memory->filter.tile_capacity() == 65536);
    CHECK(c.memory->dram.latency_cycles == 100);
    CHECK(c.effective["memory"]["ofmap"]["double_buffered"] == true);
    j["memory"]["dram"]["bandwidth_bytes_per_cycle"] = 0;
    CHECK(error_of(j) ==
          "x.json: /memory/dram/bandwidth_bytes_per_cycle: expected a positive number, got 0");
    j["memory"]["dram"]["bandwidth_bytes_per_cycle"] = 8;
    j["memory"]["ifmap"]["size"] = 64;
    CHECK(error_of(j) ==
          "x.json: /memory/ifmap: unknown key \"size\" (valid: size_kb, bandwidth_bytes_per_cycle, "
          "double_buffered)");
    j["memory"]["ifmap"].erase("size");
    j["memory"].erase("ofmap");
    CHECK(error_of(j) == "x.json: /memory: missing required key \"ofmap\"");
}

TEST_CASE("--acc shorthand: stages, lengths, policies, reductions") {
    CHECK(parse_acc_shorthand("16") == json::parse(R"([{"bits":16,"overflow":"wrap"}])"));
    CHECK(parse_acc_shorthand("128x16,32:sat") ==
          json::parse(
              R"([{"length":128,"bits":16,"overflow":"wrap"},{"bits":32,"overflow":"saturate"}])"));
    CHECK(parse_acc_shorthand("4x8:tree,2x12:sat:tree,64:wrap") ==
          json::parse(R"([{"length":4,"bits":8,"overflow":"wrap","reduction":"tree"},
                          {"length":2,"bits":12,"overflow":"saturate","reduction":"tree"},
                          {"bits":64,"overflow":"wrap"}])"));
}

TEST_CASE("a malformed --acc names the stage and what is wrong") {
    auto err = [](const std::string& spec) {
        try {
            parse_acc_shorthand(spec);
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    const std::string form =
        "expected stages like 16, 128x16 or 128x16,32:sat ([LENGTHx]BITS[:wrap|:sat][:tree])";
    CHECK(err("") == "--acc: \"\": empty; " + form);
    CHECK(err("x16") ==
          "--acc: x16: stage 1 \"x16\": tile length must be a positive integer; " + form);
    CHECK(err("0x16,32") ==
          "--acc: 0x16,32: stage 1 \"0x16\": tile length must be a positive integer; " + form);
    CHECK(err("128x") == "--acc: 128x: stage 1 \"128x\": " + form);
    CHECK(err("sixteen") == "--acc: sixteen: stage 1 \"sixteen\": " + form);
    CHECK(err("1") == "--acc: 1: stage 1 \"1\": bits must be in [2, 64], got 1");
    CHECK(err("128x16,65") == "--acc: 128x16,65: stage 2 \"65\": bits must be in [2, 64], got 65");
    CHECK(err("16:wrp") ==
          "--acc: 16:wrp: stage 1 \"16:wrp\": unknown flag \":wrp\" (valid: wrap, sat, tree, seq)");
    CHECK(err("128x16") ==
          "--acc: 128x16: stage 1 \"128x16\": the last stage takes no tile length (its one tile "
          "covers the whole dot product)");
    CHECK(
        err("16,32") ==
        "--acc: 16,32: stage 1 \"16\": every stage but the last needs a tile length, e.g. 128x16");
    CHECK(err("128x16,,32") == "--acc: 128x16,,32: stage 2 \"\": " + form);
}

TEST_CASE("--set overrides any field by dotted path with list indices") {
    json j = example();
    CHECK(apply_json_set(j, "accumulator.stages.0.bits=16") == "/accumulator/stages/0/bits");
    CHECK(j["accumulator"]["stages"][0]["bits"] == 16);
    apply_json_set(j, "accumulator.stages.1.overflow=wrap");
    CHECK(j["accumulator"]["stages"][1]["overflow"] == "wrap");
    apply_json_set(j, "array={\"kind\":\"vector\",\"pe\":2,\"simd\":4}");
    CHECK(j["array"]["pe"] == 2);
    apply_json_set(j, "accumulator.stages.2={\"bits\":40}");  // one past the end appends
    CHECK(j["accumulator"]["stages"].size() == 3);
    apply_json_set(j, "name=a=b");
    CHECK(j["name"] == "a=b");

    auto err = [](const std::string& arg) {
        json d = example();
        try {
            apply_json_set(d, arg);
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    CHECK(
        err("accumulator.stages.0.bits") ==
        "--set: accumulator.stages.0.bits: expected PATH=VALUE, e.g. accumulator.stages.0.bits=16");
    CHECK(err("=3") == "--set: =3: empty PATH before '='");
    CHECK(err("name=") == "--set: name=: empty VALUE after '='");
    CHECK(err("accumulator..bits=3") ==
          "--set: accumulator..bits=3: empty component in PATH \"accumulator..bits\"");
    CHECK(err("accumulator.stages.first.bits=3") ==
          "--set: accumulator.stages.first.bits=3: \"first\" is not a list index "
          "(/accumulator/stages is a list)");
    CHECK(err("accumulator.stages.5.bits=3") ==
          "--set: accumulator.stages.5.bits=3: index 5 is past the end of /accumulator/stages (2 "
          "entries)");
    CHECK(err("clock_mhz.value=3") ==
          "--set: clock_mhz.value=3: cannot descend into /clock_mhz, which holds 1000");
}

TEST_CASE("errors in fields set by --set or --acc name the option, not the file") {
    const std::string file = write_temp("cfg_set.json", example().dump());
    ConfigSources s;
    s.file = file;
    s.sets = {"accumulator.stages.0.bits=80"};
    CHECK(error_of(s) ==
          "--set: /accumulator/stages/0/bits: expected an integer in [2, 64], got 80");
    s.sets = {"accumulator.stages.0.bitz=16"};
    CHECK(
        error_of(s) ==
        "--set: /accumulator/stages/0: unknown key \"bitz\" (valid: kind, bits, length, overflow, "
        "reduction)");
    s.sets = {"array.rows=0"};
    CHECK(error_of(s) == "--set: /array/rows: expected a positive integer, got 0");
    // A problem elsewhere in the file is still the file's.
    json bad = example();
    bad["clock_mhz"] = -1;
    s.file = write_temp("cfg_bad.json", bad.dump());
    s.sets = {"accumulator.stages.0.bits=16"};
    CHECK(error_of(s) ==
          s.file.value() + ": /clock_mhz: expected a clock in MHz in (0, 100000], got -1");
}

TEST_CASE("--acc replaces the file's stages; without a file it makes an audit-only config") {
    ConfigSources s;
    s.file = write_temp("cfg_acc.json", example().dump());
    s.acc = "16:sat";
    HwConfig c = load_config(s);
    REQUIRE(c.accumulator.stages.size() == 1);
    CHECK(c.accumulator.stages[0].overflow == OverflowMode::saturate);
    CHECK(c.array);

    ConfigSources a;
    a.acc = "64x12,20";
    a.sets = {"accumulator.bias=none", "mapping.k_order=kh_kw_c"};
    c = load_config(a);
    CHECK(c.name == "acc 64x12,20");
    CHECK_FALSE(c.target);
    CHECK_FALSE(c.array);
    CHECK(c.effective["array"].is_null());
    CHECK(c.accumulator.bias == BiasMode::none);
    CHECK(c.k_order == KOrder::kh_kw_c);
    CHECK(*c.accumulator.stages[0].length == 64);

    ConfigSources none;
    CHECK(error_of(none) == "command line: --config: give --config FILE or --acc SPEC");
    ConfigSources missing;
    missing.file = "/nonexistent/cfg.json";
    CHECK(error_of(missing) ==
          "/nonexistent/cfg.json: file: cannot open: No such file or directory");
    ConfigSources broken;
    broken.file = write_temp("cfg_broken.json", "{\"name\": ");
    CHECK(error_of(broken).rfind(broken.file.value() + ": /: invalid JSON at line 1, column 10: ",
                                 0) == 0);
}
