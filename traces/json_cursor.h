#pragma once
// Reads a JSON document field by field while knowing where it is: every accessor that finds
// a problem throws InputError(file, JSON pointer, what), e.g.
//   configs/x.json: /accumulator/stages/1/bits: expected an integer in [2, 64], got 80
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "datapath/enum_names.h"

namespace accsim {

class JsonCursor {
  public:
    JsonCursor(const nlohmann::json& value, std::string file, std::string pointer = "");

    const nlohmann::json& value() const { return *m_value; }
    const std::string& file() const { return m_file; }
    // The JSON pointer of this value; "/" for the document root.
    std::string pointer() const { return m_pointer.empty() ? "/" : m_pointer; }

    [[noreturn]] void fail(const std::string& what) const;

    // Object access. `at` requires the key; `find` returns nullopt when it is absent.
    JsonCursor at(const std::string& key) const;
    std::optional<JsonCursor> find(const std::string& key) const;
    // Every key must be one of `allowed`: unknown key "overfow" (valid: bits, length, ...).
    void allow_keys(std::initializer_list<const char*> allowed) const;
    const JsonCursor& require_object() const;

    // Array access.
    std::size_t size() const;  // requires an array
    JsonCursor at(std::size_t index) const;
    std::vector<JsonCursor> items() const;  // requires an array

    int64_t as_int(int64_t lo, int64_t hi) const;
    double as_number() const;
    bool as_bool() const;
    std::string as_string() const;
    // One of `choices`: expected one of "wrap", "saturate", got "wrp".
    std::string as_enum(std::initializer_list<const char*> choices) const;
    // The value of one of the names in an enum's name table (datapath/enum_names.h).
    template <class E, std::size_t N>
    E as_enum(const EnumName<E> (&table)[N]) const {
        const char* names[N];
        for (std::size_t i = 0; i < N; ++i) names[i] = table[i].name;
        return table[choice(names, N)].value;
    }

    static std::string escape(const std::string& key);  // JSON-pointer escaping (~0, ~1)

  private:
    // The index of the value among `names` (n of them); fails naming them all.
    std::size_t choice(const char* const* names, std::size_t n) const;

    const nlohmann::json* m_value;
    std::string m_file;
    std::string m_pointer;
};

// A short rendering of a JSON value for messages (long values are cut).
std::string brief(const nlohmann::json& v);

// Parses a whole document. Invalid JSON -> InputError(file, "/", "invalid JSON: ..."); a key
// that appears twice in one object -> InputError(file, pointer of the object, "duplicate key
// ...") (nlohmann would silently keep the last one).
// Objects and arrays nested deeper than k_max_json_depth are an error too.
inline constexpr std::size_t k_max_json_depth = 100;
nlohmann::json parse_json_document(const char* begin, const char* end, const std::string& file);
// Reads and parses a whole JSON file; a missing file or a directory is an InputError too.
nlohmann::json read_json_file(const std::string& path);

}  // namespace accsim
