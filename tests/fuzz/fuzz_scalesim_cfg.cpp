// SCALE-Sim .cfg files, translated and validated as --config FILE.cfg does.
#include "config/hw_config.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace accsim;
    static const std::string path = fuzz::scratch() + "/fuzz.cfg";
    fuzz::write_file(path, data, size);
    return fuzz::contract([&] {
        ConfigSources s;
        s.file = path;
        load_config(s);
    });
}
