// --layers patterns, matched against layer names of every shape.
#include "engine/layer_selection.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace accsim;
    static const std::vector<LayerWork> layers = [] {
        std::vector<LayerWork> l;
        for (const char* name : {"conv0", "features.3.conv.1", "attn_qk", "blocks.11.mlp.fc2",
                                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "層"}) {
            LayerWork w;
            w.name = name;
            l.push_back(w);
        }
        return l;
    }();
    return fuzz::contract([&] { select_layers(layers, fuzz::text(data, size)); });
}
