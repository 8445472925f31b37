// safetensors files: the input is tensors.safetensors, beside the shared trace's manifest.
#include <filesystem>

#include "fuzz_input.h"
#include "traces/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace accsim;
    static const std::string dir = [] {
        const std::string d = fuzz::scratch() + "/safetensors.trace";
        std::filesystem::create_directories(d);
        std::filesystem::copy_file(fuzz::seed_trace_file("manifest.json"), d + "/manifest.json",
                                   std::filesystem::copy_options::overwrite_existing);
        return d;
    }();
    fuzz::write_file(dir + "/tensors.safetensors", data, size);
    return fuzz::contract([&] { Trace::load(dir); });
}
