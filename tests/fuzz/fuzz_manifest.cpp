// Trace manifests: the input is manifest.json, beside the shared trace's valid tensors.
#include <filesystem>

#include "fuzz_input.h"
#include "traces/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace accsim;
    static const std::string dir = [] {
        const std::string d = fuzz::scratch() + "/manifest.trace";
        std::filesystem::create_directories(d);
        std::filesystem::copy_file(fuzz::seed_trace_file("tensors.safetensors"),
                                   d + "/tensors.safetensors",
                                   std::filesystem::copy_options::overwrite_existing);
        return d;
    }();
    fuzz::write_file(dir + "/manifest.json", data, size);
    return fuzz::contract([&] { Trace::load(dir); });
}
