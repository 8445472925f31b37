// Sweep journals (points.jsonl) read back for --resume and by sweep-merge: a header of this
// sweep's definition and records of a two-point, one-layer grid, read as the whole sweep's
// journal and as shard 1/2's.
#include "fuzz_input.h"
#include "sweep/sweep_journal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace accsim;
    static const std::string path = fuzz::scratch() + "/points.jsonl";
    static const nlohmann::ordered_json definition = {{"trace", "t"}, {"grid", {1, 2}}};
    static const nlohmann::ordered_json shard = {{"k", 1}, {"n", 2}};
    static const std::vector<nlohmann::ordered_json> values = {{{"acc", "12"}}, {{"acc", "14"}}};
    fuzz::write_file(path, data, size);
    fuzz::contract([&] { read_journal(path, definition, nullptr, values, 1); });
    fuzz::contract([&] { read_journal(path, definition, shard, values, 1); });
    return fuzz::contract([&] { read_journal_header(path); });
}
