#include "json_cursor.h"

#include <set>

#include "datapath/input_error.h"
#include "mapped_file.h"

namespace accsim {

std::string brief(const nlohmann::json& v) {
    std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return s;
}

JsonCursor::JsonCursor(const nlohmann::json& value, std::string file, std::string pointer)
    : m_value(&value), m_file(std::move(file)), m_pointer(std::move(pointer)) {}

void JsonCursor::fail(const std::string& what) const {
    throw InputError(m_file, pointer(), what);
}

std::string JsonCursor::escape(const std::string& key) {
    std::string out;
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

const JsonCursor& JsonCursor::require_object() const {
    if (!m_value->is_object()) fail("expected an object, got " + brief(*m_value));
    return *this;
}

JsonCursor JsonCursor::at(const std::string& key) const {
    require_object();
    const auto it = m_value->find(key);
    if (it == m_value->end()) fail("missing required key \"" + key + "\"");
    return JsonCursor(*it, m_file, m_pointer + "/" + escape(key));
}

std::optional<JsonCursor> JsonCursor::find(const std::string& key) const {
    require_object();
    const auto it = m_value->find(key);
    if (it == m_value->end()) return std::nullopt;
    return JsonCursor(*it, m_file, m_pointer + "/" + escape(key));
}

void JsonCursor::allow_keys(std::initializer_list<const char*> allowed) const {
    require_object();
    for (auto it = m_value->begin(); it != m_value->end(); ++it) {
        bool ok = false;
        for (const char* a : allowed) ok = ok || it.key() == a;
        if (ok) continue;
        std::string valid;
        for (const char* a : allowed) valid += (valid.empty() ? "" : ", ") + std::string(a);
        fail("unknown key \"" + it.key() + "\" (valid: " + valid + ")");
    }
}

std::size_t JsonCursor::size() const {
    if (!m_value->is_array()) fail("expected a list, got " + brief(*m_value));
    return m_value->size();
}

JsonCursor JsonCursor::at(std::size_t index) const {
    if (index >= size()) fail("index " + std::to_string(index) + " out of range");
    return JsonCursor((*m_value)[index], m_file, m_pointer + "/" + std::to_string(index));
}

std::vector<JsonCursor> JsonCursor::items() const {
    std::vector<JsonCursor> out;
    for (std::size_t i = 0; i < size(); ++i) out.push_back(at(i));
    return out;
}

int64_t JsonCursor::as_int(int64_t lo, int64_t hi) const {
    const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    const nlohmann::json& v = *m_value;
    bool ok = false;
    int64_t x = 0;
    if (v.is_number_integer()) {
        if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
            ok = false;
        } else {
            x = v.get<int64_t>();
            ok = true;
        }
    } else if (v.is_number_float()) {
        // 16.0 is accepted as 16; 16.5 is not an integer.
        const double d = v.get<double>();
        if (d > -9.2e18 && d < 9.2e18 && d == static_cast<double>(static_cast<int64_t>(d))) {
            x = static_cast<int64_t>(d);
            ok = true;
        }
    }
    if (!ok || x < lo || x > hi) fail("expected an integer in " + range + ", got " + brief(v));
    return x;
}

double JsonCursor::as_number() const {
    if (!m_value->is_number()) fail("expected a number, got " + brief(*m_value));
    return m_value->get<double>();
}

bool JsonCursor::as_bool() const {
    if (!m_value->is_boolean()) fail("expected true or false, got " + brief(*m_value));
    return m_value->get<bool>();
}

std::string JsonCursor::as_string() const {
    if (!m_value->is_string()) fail("expected a string, got " + brief(*m_value));
    return m_value->get<std::string>();
}

std::string JsonCursor::as_enum(std::initializer_list<const char*> choices) const {
    return choices.begin()[choice(choices.begin(), choices.size())];
}

std::size_t JsonCursor::choice(const char* const* names, std::size_t n) const {
    std::string list;
    for (std::size_t i = 0; i < n; ++i)
        list += (list.empty() ? "\"" : ", \"") + std::string(names[i]) + "\"";
    if (!m_value->is_string()) fail("expected one of " + list + ", got " + brief(*m_value));
    const std::string s = m_value->get<std::string>();
    for (std::size_t i = 0; i < n; ++i)
        if (s == names[i]) return i;
    fail("expected one of " + list + ", got \"" + s + "\"");
}

nlohmann::json parse_json_document(const char* begin, const char* end, const std::string& file) {
    // Where the parser is: one frame per open object or array.
    struct Frame {
        bool is_array = false;
        std::size_t index = 0;
        std::string key;
        std::set<std::string> keys;
    };
    std::vector<Frame> stack;
    std::string dup_pointer, dup_key;
    auto pointer = [&](std::size_t frames) {
        std::string p;
        for (std::size_t i = 0; i < frames; ++i)
            p += "/" + (stack[i].is_array ? std::to_string(stack[i].index)
                                          : JsonCursor::escape(stack[i].key));
        return p.empty() ? std::string("/") : p;
    };
    auto finished_value = [&] {
        if (!stack.empty() && stack.back().is_array) ++stack.back().index;
    };
    using Event = nlohmann::json::parse_event_t;
    auto callback = [&](int, Event event, nlohmann::json& parsed) {
        if ((event == Event::object_start || event == Event::array_start) &&
            stack.size() >= k_max_json_depth)
            throw InputError(file, pointer(stack.size()),
                             "nested deeper than " + std::to_string(k_max_json_depth) + " levels");
        switch (event) {
            case Event::object_start:
                stack.push_back(Frame{});
                break;
            case Event::array_start:
                stack.push_back(Frame{true, 0, {}, {}});
                break;
            case Event::key: {
                Frame& f = stack.back();
                f.key = parsed.get<std::string>();
                if (!f.keys.insert(f.key).second && dup_key.empty()) {
                    dup_pointer = pointer(stack.size() - 1);
                    dup_key = f.key;
                }
                break;
            }
            case Event::object_end:
            case Event::array_end:
                stack.pop_back();
                finished_value();
                break;
            case Event::value:
                finished_value();
                break;
        }
        return true;
    };
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(begin, end, callback);
    } catch (const nlohmann::json::exception& e) {
        // parse_error, and out_of_range for numbers such as 1e999
        throw InputError(file, "/", std::string("invalid JSON: ") + e.what());
    }
    if (!dup_key.empty()) throw InputError(file, dup_pointer, "duplicate key \"" + dup_key + "\"");
    return doc;
}

nlohmann::json read_json_file(const std::string& path) {
    // Manifests and configs are small; a JSON file this large is not one of them.
    constexpr std::size_t k_max_json_bytes = std::size_t{256} << 20;
    const MappedFile f(path, k_max_json_bytes);
    const char* text = reinterpret_cast<const char*>(f.data());
    return parse_json_document(text, text + f.size(), path);
}

}  // namespace accsim
