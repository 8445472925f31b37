#include "config/json_set.h"

#include <cctype>
#include <vector>

#include "datapath/input_error.h"
#include "traces/json_cursor.h"

namespace accsim {
namespace {

bool is_index(const std::string& s) {
    if (s.empty() || s.size() > 9) return false;
    for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

}  // namespace

std::string apply_json_set(nlohmann::json& doc, const std::string& arg) {
    auto fail = [&](const std::string& what) { throw InputError("--set", arg, what); };
    const auto eq = arg.find('=');
    if (eq == std::string::npos) fail("expected PATH=VALUE, e.g. accumulator.stages.0.bits=16");
    const std::string path = arg.substr(0, eq);
    const std::string text = arg.substr(eq + 1);
    if (path.empty()) fail("empty PATH before '='");
    if (text.empty()) fail("empty VALUE after '='");
    std::vector<std::string> keys(1);
    for (char c : path) {
        if (c == '.')
            keys.emplace_back();
        else
            keys.back() += c;
    }
    nlohmann::json value;
    try {
        value = parse_json_document(text.data(), text.data() + text.size(), "--set");
    } catch (const InputError& e) {
        if (e.problem().rfind("invalid JSON", 0) != 0) fail(e.problem());
        value = text;  // a bare word such as saturate
    }

    nlohmann::json* node = &doc;
    std::string pointer;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const std::string& key = keys[i];
        if (key.empty()) fail("empty component in PATH \"" + path + "\"");
        if (node->is_null())
            *node = is_index(key) ? nlohmann::json::array() : nlohmann::json::object();
        if (node->is_array()) {
            if (!is_index(key))
                fail("\"" + key + "\" is not a list index (" + pointer + " is a list)");
            const std::size_t idx = std::stoul(key);
            if (idx > node->size())
                fail("index " + key + " is past the end of " + (pointer.empty() ? "/" : pointer) +
                     " (" + std::to_string(node->size()) +
                     (node->size() == 1 ? " entry)" : " entries)"));
            if (idx == node->size()) node->push_back(nullptr);
            node = &(*node)[idx];
        } else if (node->is_object()) {
            node = &(*node)[key];
        } else {
            fail("cannot descend into " + pointer + ", which holds " + brief(*node));
        }
        pointer += "/" + JsonCursor::escape(key);
    }
    *node = value;
    return pointer;
}

}  // namespace accsim
