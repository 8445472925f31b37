// --set PATH=VALUE overrides applied to the reference configuration, then validated.
#include "config/hw_config.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace accsim;
    return fuzz::contract([&] {
        ConfigSources s;
        s.file = std::string(ACCSIM_SOURCE_DIR) + "/configs/default.json";
        // Several overrides: the input's lines.
        std::string arg;
        for (char c : fuzz::text(data, size)) {
            if (c == '\n') {
                s.sets.push_back(arg);
                arg.clear();
            } else {
                arg += c;
            }
        }
        s.sets.push_back(arg);
        load_config(s);
    });
}
