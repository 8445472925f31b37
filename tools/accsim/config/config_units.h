#pragma once
// Units of the configuration's keys, by key name (one table: `accsim validate` prints them next
// to every value, and a test checks that every key of every preset has one).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace accsim {

// The unit of the leaf at `path` (dotted, as --set takes it: memory.ifmap.size_kb); "" for
// names, choices and switches; nullopt for a key the table does not know.
std::optional<std::string> unit_of(const std::string& path);

// Every leaf of an effective config as "path  value unit", one per line.
std::string render_config(const nlohmann::ordered_json& effective);

}  // namespace accsim
