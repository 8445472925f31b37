#pragma once
// --dump-outputs DIR: every output of every layer, as the datapath left it, beside its exact
// result and its overflow events per stage (README.md, "Dumping the outputs"):
//
//   DIR/index.json                 {"<layer name>": "<file>", ...}
//   DIR/<name, characters outside A-Za-z0-9._- replaced by _>.safetensors
//       values  I64 (integer datapaths) | F32 (float, registers up to e8m23) | F64 (wider)
//       exact   I64 | F64 (the exact result rounded to binary64)
//       events  I32, the output shape plus one axis of stages
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datapath/float_accumulator.h"
#include "datapath/wide_int.h"
#include "traces/trace.h"

namespace accsim {

class OutputDump {
  public:
    // `floating`: the layer replays through float stages whose last register is `last`.
    OutputDump(const LayerSpec& layer, std::size_t stages, bool floating, const StageSpec& last);
    // Output `index` (flat, in the layer's output tensor). Thread-safe for distinct indices.
    void set(int64_t index, int64_t value, i128 exact, const uint32_t* events);
    void set(int64_t index, const FloatDot& d);
    void write(const std::string& path) const;  // one safetensors file

  private:
    const LayerSpec& m_layer;
    std::size_t m_stages;
    bool m_floating;
    bool m_f32;  // float values fit F32
    std::vector<int64_t> m_ivalues, m_iexact;
    std::vector<double> m_fvalues, m_fexact;
    std::vector<int32_t> m_events;
};

// The file name of a layer's outputs: its name with every character outside A-Za-z0-9._-
// replaced by _, and ".safetensors" (a suffix _2, _3, ... where two names would collide).
std::string output_file_name(const std::string& layer_name);
// Writes DIR/index.json and every layer's file (dumps[i] for layers[i]). Throws InputError
// naming DIR when it cannot be written.
void write_output_dumps(const std::string& dir, const std::vector<const LayerSpec*>& layers,
                        const std::vector<const OutputDump*>& dumps);

}  // namespace accsim
