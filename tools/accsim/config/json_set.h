#pragma once
// --set PATH=VALUE: overrides one field of a JSON document. PATH is dotted with numeric list
// indices (accumulator.stages.0.bits); VALUE is JSON (16, true, "x", [1,2]) or, if it does not
// parse as JSON, a plain string (saturate).
#include <nlohmann/json.hpp>
#include <string>

namespace accsim {

// Applies the override and returns the JSON pointer it set ("/accumulator/stages/0/bits").
// Throws InputError("--set", arg, ...) on a malformed argument.
std::string apply_json_set(nlohmann::json& doc, const std::string& arg);

}  // namespace accsim
