// SCALE-Sim topology CSVs, in both forms.
#include "fuzz_input.h"
#include "scalesim/scalesim.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace accsim;
    static const std::string path = fuzz::scratch() + "/fuzz.csv";
    fuzz::write_file(path, data, size);
    fuzz::contract([&] { read_topology(path, TopologyFormat::conv); });
    return fuzz::contract([&] { read_topology(path, TopologyFormat::gemm); });
}
