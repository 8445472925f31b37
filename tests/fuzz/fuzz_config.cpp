// Hardware configurations (JSON): parsed and validated into specs, as --config FILE does.
#include "config/hw_config.h"
#include "fuzz_input.h"
#include "traces/json_cursor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace accsim;
    const char* text = reinterpret_cast<const char*>(data);
    return fuzz::contract([&] {
        const nlohmann::json doc = parse_json_document(text, text + size, "fuzz.json");
        parse_config(doc, "fuzz.json", false);
    });
}
