// The --acc shorthand, through to a validated accumulator.
#include "config/acc_shorthand.h"
#include "config/hw_config.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace accsim;
    return fuzz::contract([&] {
        ConfigSources s;
        s.acc = fuzz::text(data, size);
        load_config(s);
    });
}
