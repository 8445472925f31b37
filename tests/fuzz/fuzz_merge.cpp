// sweep-merge over one shard directory: the input is the shard's journal (points.jsonl), its
// marker (shard.json) says it finished shard 1/1 with points 0 and 1. Seeds: a real shard's
// journal (conv0 of the tiny face detector, two widths).
#include "fuzz_input.h"
#include "sweep/sweep_merge.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace accsim;
    static const std::string dir = [] {
        const std::string d = fuzz::scratch() + "/shard";
        const std::string cmd = "mkdir -p '" + d + "'";
        if (std::system(cmd.c_str()) != 0) std::abort();
        const std::string marker = R"({"shard":{"k":1,"n":1},"points":[0,1]})";
        fuzz::write_file(d + "/shard.json", reinterpret_cast<const uint8_t*>(marker.data()),
                         marker.size());
        return d;
    }();
    fuzz::write_file(dir + "/points.jsonl", data, size);
    return fuzz::contract([&] { merge_sweep_shards(fuzz::scratch() + "/merged", {dir}); });
}
