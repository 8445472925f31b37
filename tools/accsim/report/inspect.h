#pragma once
// `accsim inspect`: what a trace holds — layers, shapes, bit widths and value ranges.
#include <string>
#include <vector>

#include "traces/trace.h"

namespace accsim {

std::string render_inspect(const Trace& trace, const std::vector<const LayerSpec*>& layers);

}  // namespace accsim
