// The fuzz seeds of sweep journals are journals this accsim reads (and a shard's journal merges):
// a format or version change that left them behind would leave the fuzzers stuck at the header,
// so it fails here.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "datapath/input_error.h"
#include "sweep/sweep_journal.h"
#include "sweep/sweep_merge.h"

using accsim::read_journal;
using Json = nlohmann::ordered_json;

namespace {
const std::string seeds = std::string(ACCSIM_SOURCE_DIR) + "/tests/fuzz/seeds/journal/";
const Json definition = {{"trace", "t"}, {"grid", {1, 2}}};  // as in tests/fuzz/fuzz_journal.cpp
const std::vector<Json> values = {{{"acc", "12"}}, {{"acc", "14"}}};
const Json shard = {{"k", 1}, {"n", 2}};
}  // namespace

TEST_CASE("the journal fuzz seeds are current journals: records trusted, shards told apart") {
    const auto header = read_journal(seeds + "header", definition, nullptr, values, 1);
    CHECK(header.done.empty());
    CHECK(header.damaged == 0);

    const auto records = read_journal(seeds + "records", definition, nullptr, values, 1);
    CHECK(records.done.size() == 2);
    CHECK(records.damaged == 0);
    CHECK(records.done.at(1)["values"]["acc"] == "14");
    // Two records, one layer each: read as a sweep of two layers, both are damage.
    const auto wrong_layers = read_journal(seeds + "records", definition, nullptr, values, 2);
    CHECK(wrong_layers.done.empty());
    CHECK(wrong_layers.damaged == 2);

    // Shard 1/2's journal, its last line cut short by a kill: one record, nothing damaged.
    const auto sharded = read_journal(seeds + "shard", definition, shard, values, 1);
    CHECK(sharded.done.size() == 1);
    CHECK(sharded.damaged == 0);
    CHECK_THROWS_AS(read_journal(seeds + "shard", definition, nullptr, values, 1),
                    accsim::InputError);
    CHECK_THROWS_AS(read_journal(seeds + "records", definition, shard, values, 1),
                    accsim::InputError);
    CHECK_THROWS_AS(read_journal(seeds + "records", Json{{"trace", "u"}}, nullptr, values, 1),
                    accsim::InputError);
}

TEST_CASE("the merge fuzz seed is a finished shard's journal: it merges into a sweep of 2 points") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(ACCSIM_TEST_TMP) / "fuzz-merge-seed";
    fs::remove_all(dir);
    fs::create_directories(dir / "shard");
    fs::copy_file(std::string(ACCSIM_SOURCE_DIR) + "/tests/fuzz/seeds/merge/shard-1of1",
                  dir / "shard" / "points.jsonl");
    std::ofstream(dir / "shard" / "shard.json")  // as in tests/fuzz/fuzz_merge.cpp
        << R"({"shard":{"k":1,"n":1},"points":[0,1]})";
    const Json sweep =
        accsim::merge_sweep_shards((dir / "merged").string(), {(dir / "shard").string()});
    CHECK(sweep["points"].size() == 2);
    CHECK(fs::exists(dir / "merged" / "sweep.html"));
}
