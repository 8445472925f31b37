#pragma once
// Text from users and files made fit for a one-line message: every byte that could break the
// line or the terminal is written as an escape, in the form C and JSON readers know.
//   printable("16\n")          -> "16\\n"
//   printable("fc\0.input")     -> "fc\\0.input"
//   printable("\xff ok")        -> "\\xff ok"       (not UTF-8)
// Valid UTF-8 (layer names in any script) passes unchanged; so does a backslash.
#include <string>
#include <string_view>

namespace accsim {

std::string printable(std::string_view text);

// Whether `text` is valid UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool valid_utf8(std::string_view text);

}  // namespace accsim
