#pragma once
// --layers REGEX: the layers whose name matches (ECMAScript, searched anywhere in the name).
// A pattern that does not compile, or matches nothing, is an InputError naming --layers.
#include <string>
#include <vector>

#include "models/layer_work.h"
#include "traces/trace.h"

namespace accsim {

// Every layer of the trace for an empty pattern.
std::vector<const LayerSpec*> select_layers(const Trace& trace, const std::string& pattern);
// The same over a SCALE-Sim topology's layers.
std::vector<LayerWork> select_layers(const std::vector<LayerWork>& layers,
                                     const std::string& pattern);

}  // namespace accsim
