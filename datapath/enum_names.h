#pragma once
// One name table per enum: the names by which configs, the --acc shorthand, reports, describe()
// and sweep keys know its values, written once beside the enum. Parsing and printing both read
// the table, so a new value is one new row, and no two-way ternary can silently map a third
// value to a wrong name.
//
//   enum class OverflowMode { wrap, saturate };
//   inline constexpr EnumName<OverflowMode> k_overflow_names[] = {
//       {OverflowMode::wrap, "wrap"}, {OverflowMode::saturate, "saturate"}};
//   name_of(k_overflow_names, OverflowMode::wrap)   // "wrap"
//   value_of(k_overflow_names, "saturate")          // OverflowMode::saturate
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace accsim {

template <class E>
struct EnumName {
    E value;
    const char* name;
};

template <class E, std::size_t N>
const char* name_of(const EnumName<E> (&table)[N], E value) {
    for (const EnumName<E>& e : table)
        if (e.value == value) return e.name;
    throw std::logic_error("name_of: a value missing from its name table");
}

template <class E, std::size_t N>
std::optional<E> value_of(const EnumName<E> (&table)[N], std::string_view name) {
    for (const EnumName<E>& e : table)
        if (name == e.name) return e.value;
    return std::nullopt;
}

// "\"wrap\", \"saturate\"": the names in table order, for messages.
template <class E, std::size_t N>
std::string quoted_names(const EnumName<E> (&table)[N]) {
    std::string out;
    for (const EnumName<E>& e : table)
        out += (out.empty() ? "\"" : ", \"") + std::string(e.name) + "\"";
    return out;
}

}  // namespace accsim
