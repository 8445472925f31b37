#pragma once
// Reading a report.json whose sections may be null (an audit has no timing) or absent (a report
// written before a key existed): every renderer asks through these and draws "-" or a note.
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace accsim {

// The value at `path` below `j`, or nullptr where any step is absent or null.
inline const nlohmann::ordered_json* report_field(const nlohmann::ordered_json& j,
                                                  std::initializer_list<const char*> path) {
    const nlohmann::ordered_json* at = &j;
    for (const char* key : path) {
        if (!at->is_object()) return nullptr;
        auto it = at->find(key);
        if (it == at->end()) return nullptr;
        at = &*it;
    }
    return at->is_null() ? nullptr : at;
}

inline std::optional<double> report_number(const nlohmann::ordered_json& j,
                                           std::initializer_list<const char*> path) {
    const nlohmann::ordered_json* v = report_field(j, path);
    if (!v || !v->is_number()) return std::nullopt;
    return v->get<double>();
}

inline std::string report_string(const nlohmann::ordered_json& j,
                                 std::initializer_list<const char*> path,
                                 const std::string& fallback = "") {
    const nlohmann::ordered_json* v = report_field(j, path);
    return v && v->is_string() ? v->get<std::string>() : fallback;
}

}  // namespace accsim
