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

namespace {

// Builds the document from nlohmann's SAX events in one pass (its callback parser rescans a
// parent array at every object's end: quadratic in the entries), refusing duplicate keys and
// nesting deeper than k_max_json_depth with their JSON pointers.
class CheckedBuilder : public nlohmann::json_sax<nlohmann::json> {
  public:
    explicit CheckedBuilder(std::string file) : m_file(std::move(file)) {}

    nlohmann::json root;
    // A syntax error: where, and the token it stopped at.
    std::size_t error_position = 0;
    std::string error_token;
    bool number_overflow = false;
    bool failed = false;

    bool null() override { return add(nullptr); }
    bool boolean(bool v) override { return add(v); }
    bool number_integer(number_integer_t v) override { return add(v); }
    bool number_unsigned(number_unsigned_t v) override { return add(v); }
    bool number_float(number_float_t v, const string_t&) override { return add(v); }
    bool string(string_t& v) override { return add(std::move(v)); }
    bool binary(binary_t& v) override { return add(nlohmann::json::binary(std::move(v))); }

    bool start_object(std::size_t) override { return open(nlohmann::json::object(), false); }
    bool start_array(std::size_t) override { return open(nlohmann::json::array(), true); }
    bool end_object() override { return close(); }
    bool end_array() override { return close(); }

    bool key(string_t& k) override {
        Frame& f = m_stack.back();
        if (!f.keys.insert(k).second && m_dup_key.empty()) {
            m_dup_pointer = pointer(m_stack.size() - 1);  // the object holding the key
            m_dup_key = k;
        }
        f.key = k;
        return true;
    }

    bool parse_error(std::size_t position, const std::string& last_token,
                     const nlohmann::detail::exception& e) override {
        failed = true;
        error_position = position;
        error_token = last_token;
        number_overflow = e.id == 406;
        return false;
    }

    void check_duplicates() const {
        if (!m_dup_key.empty())
            throw InputError(m_file, m_dup_pointer, "duplicate key \"" + m_dup_key + "\"");
    }

  private:
    struct Frame {
        nlohmann::json* value;
        bool is_array;
        std::size_t index = 0;  // arrays: elements so far
        std::string key;        // objects: the key of the value being read
        std::set<std::string> keys;
    };

    std::string pointer(std::size_t frames) const {
        std::string p;
        for (std::size_t i = 0; i < frames; ++i) {
            const Frame& f = m_stack[i];
            p += "/" + (f.is_array ? std::to_string(f.index) : JsonCursor::escape(f.key));
        }
        return p.empty() ? std::string("/") : p;
    }

    // Places a value where the parser is; returns it.
    nlohmann::json* place(nlohmann::json&& v) {
        if (m_stack.empty()) {
            root = std::move(v);
            return &root;
        }
        Frame& f = m_stack.back();
        if (f.is_array) {
            f.value->push_back(std::move(v));
            return &f.value->back();
        }
        nlohmann::json& slot = (*f.value)[f.key];
        slot = std::move(v);
        return &slot;
    }

    bool add(nlohmann::json&& v) {
        place(std::move(v));
        if (!m_stack.empty() && m_stack.back().is_array) ++m_stack.back().index;
        return true;
    }

    bool open(nlohmann::json&& empty, bool is_array) {
        if (m_stack.size() >= k_max_json_depth)
            throw InputError(m_file, pointer(m_stack.size()),
                             "nested deeper than " + std::to_string(k_max_json_depth) + " levels");
        nlohmann::json* at = place(std::move(empty));
        m_stack.push_back(Frame{at, is_array, 0, {}, {}});
        return true;
    }

    bool close() {
        m_stack.pop_back();
        if (!m_stack.empty() && m_stack.back().is_array) ++m_stack.back().index;
        return true;
    }

    std::string m_file;
    std::vector<Frame> m_stack;
    std::string m_dup_pointer, m_dup_key;
};

// "line 3, column 7" of a byte position (1-based), for messages.
std::string line_and_column(const char* begin, const char* end, std::size_t position) {
    std::size_t line = 1, column = 1;
    for (const char* p = begin; p < end && p < begin + position - (position > 0); ++p) {
        if (*p == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

nlohmann::json parse_json_document(const char* begin, const char* end, const std::string& file) {
    CheckedBuilder builder(file);
    const bool ok = nlohmann::json::sax_parse(begin, end, &builder);
    if (!ok || builder.failed) {
        const std::string where = line_and_column(begin, end, builder.error_position);
        // The token it stopped in: a number that overflowed whole, else its last character.
        std::string token = builder.error_token;
        if (!builder.number_overflow && token.size() > 1) token = token.substr(token.size() - 1);
        if (token.size() > 40) token = token.substr(0, 37) + "...";
        throw InputError(
            file, "/",
            builder.number_overflow
                ? "invalid JSON at " + where + ": the number " + token + " is too large"
            : token.empty() ? "invalid JSON at " + where + ": the text ends too soon"
                            : "invalid JSON at " + where + ": unexpected \"" + token + "\"");
    }
    builder.check_duplicates();
    return std::move(builder.root);
}

nlohmann::json read_json_file(const std::string& path) {
    // Manifests and configs are small; a JSON file this large is not one of them.
    constexpr std::size_t k_max_json_bytes = std::size_t{256} << 20;
    const MappedFile f(path, k_max_json_bytes);
    const char* text = reinterpret_cast<const char*>(f.data());
    return parse_json_document(text, text + f.size(), path);
}

}  // namespace accsim
