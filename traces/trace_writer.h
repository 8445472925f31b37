#pragma once
// Writes a trace directory: manifest.json plus the one safetensors file it names. Used by the
// tests and by anything in C++ that produces traces; Python users have traces/python.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "safetensors.h"

namespace accsim {

// Creates `dir` if needed. `manifest["tensors"]` must be a single file name.
void write_trace(const std::string& dir, const nlohmann::json& manifest,
                 const std::vector<TensorBlob>& tensors);

}  // namespace accsim
