#pragma once
// The one exception type for bad input. Library code throws it; only tools/ prints it as
//   accsim: error: <file>: <field>: <what>
// and exits with status 2. The message is always one line of valid UTF-8: line breaks, NUL,
// other control bytes and bytes that are not UTF-8 in any part are escaped (printable.h), so a
// file name or a value quoted from bad input cannot split or cut it.
#include <stdexcept>
#include <string>

#include "datapath/printable.h"

namespace accsim {

class InputError : public std::runtime_error {
  public:
    // `file`: the file (or command-line option, e.g. "--acc") that holds the bad input.
    // `field`: a JSON pointer, tensor name or option value naming the bad part.
    InputError(std::string file, std::string field, std::string what)
        : std::runtime_error(printable(file) + ": " + printable(field) + ": " + printable(what)),
          m_file(std::move(file)),
          m_field(std::move(field)),
          m_what(std::move(what)) {}

    const std::string& file() const { return m_file; }
    const std::string& field() const { return m_field; }
    const std::string& problem() const { return m_what; }

  private:
    std::string m_file;
    std::string m_field;
    std::string m_what;
};

}  // namespace accsim
