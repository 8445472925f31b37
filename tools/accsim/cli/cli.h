#pragma once
// The accsim command line: parses arguments, calls the library, prints, and turns errors
// into messages and exit codes (0 ok, 2 bad input or usage, 1 internal failure).
#include <ostream>

namespace accsim {

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace accsim
