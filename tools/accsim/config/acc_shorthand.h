#pragma once
// The --acc shorthand (datapath/README.md): stages separated by commas, each
// [LENGTHx]BITS[:wrap|:sat][:tree|:seq]; "--acc 128x16,32:sat" is 16-bit wrapping tiles of 128
// products summed in a saturating 32-bit register.
#include <nlohmann/json.hpp>
#include <string>

namespace accsim {

// Returns the stages as config JSON (the value of accumulator.stages). Throws
// InputError("--acc", spec, ...) on malformed input.
nlohmann::json parse_acc_shorthand(const std::string& spec);

}  // namespace accsim
